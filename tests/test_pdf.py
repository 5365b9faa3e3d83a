"""PDFs read only our static files and data: URLs, whatever the HTML asks for."""

import io
import socket

import pytest
from pypdf import PdfReader

from coop.pdf import RefusedURL, StaticOnlyFetcher, render_pdf

PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
    "DwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def static(tmp_path):
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "doc.css").write_text("p.marked::after { content: ' [styled]'; }")
    (tmp_path / "secret.css").write_text("p.marked::after { content: ' [secret]'; }")
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Every connection or name lookup attempted, recorded instead of made."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.fixture
def fetched(monkeypatch):
    """The URLs the fetcher was asked for and whether it served or refused each."""
    calls = []
    fetch = StaticOnlyFetcher.fetch

    def recording(self, url, headers=None):
        try:
            response = fetch(self, url, headers)
        except Exception as error:
            calls.append((url, type(error).__name__))
            raise
        calls.append((url, "served"))
        return response

    monkeypatch.setattr(StaticOnlyFetcher, "fetch", recording)
    return calls


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_our_static_files_and_data_urls_are_rendered(static, fetched, no_network):
    html = f'<link rel="stylesheet" href="doc.css"><img src="{PIXEL}"><p class="marked">Bonjour</p>'
    data = render_pdf(html, static_folder=static)
    assert data.startswith(b"%PDF")
    assert "Bonjour [styled]" in text_of(data)
    assert [outcome for _, outcome in fetched] == ["served", "served"]
    assert no_network == []


@pytest.mark.parametrize(
    "html",
    [
        '<img src="http://attacker.example/track.png">',
        '<img src="https://attacker.example/track.png">',
        '<link rel="stylesheet" href="http://attacker.example/x.css">',
        '<link rel="stylesheet" href="file:///etc/passwd">',
        '<link rel="stylesheet" href="../secret.css">',
        '<link rel="stylesheet" href="ftp://attacker.example/x.css">',
        '<link rel="stylesheet" href="file://attacker.example/share/x.css">',
        "<style>@import url('http://attacker.example/x.css');</style>",
        "<p style=\"background: url('http://attacker.example/bg.png')\">x</p>",
    ],
)
def test_anything_else_is_refused_without_touching_the_network(static, fetched, no_network, html):
    data = render_pdf(f'{html}<p class="marked">Bonjour</p>', static_folder=static)
    assert data.startswith(b"%PDF")
    assert fetched and all(outcome == "RefusedURL" for _, outcome in fetched)
    assert no_network == []
    assert "[secret]" not in text_of(data)


def test_a_symbolic_link_out_of_the_static_folder_is_refused(static, tmp_path):
    (static / "link.css").symlink_to(tmp_path / "secret.css")
    fetcher = StaticOnlyFetcher(static)
    with pytest.raises(RefusedURL):
        fetcher.fetch((static / "link.css").as_uri())
    assert fetcher.fetch((static / "doc.css").as_uri()).content_type == "text/css"
