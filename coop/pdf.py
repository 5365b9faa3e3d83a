"""PDF documents (purchase orders, invoices) rendered from HTML by WeasyPrint, safely.

The HTML carries text that members and suppliers typed (spec/invoicing.md,
"Rendering safely"): whatever URL it names, WeasyPrint may read only our own
static files, from disk, and `data:` URLs. Anything else (`http:`, `file:` outside
the static folder, `ftp:`...) is refused before any file is opened or any
connection made; WeasyPrint logs the refusal and renders without the resource.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}


class RefusedURL(ValueError):
    """A document asked for a resource outside the static folder."""


class StaticOnlyFetcher(URLFetcher):
    """WeasyPrint's fetcher limited to `data:` URLs and files under one folder."""

    def __init__(self, root: Path):
        # No redirects, no other protocol even if `fetch` below were bypassed.
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=5)
        self.root = root.resolve()

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._static_path(url)
            media_type = _TYPES.get(path.suffix.lower(), "application/octet-stream")
            return URLFetcherResponse(
                path.as_uri(), path.read_bytes(), {"Content-Type": media_type}
            )
        raise RefusedURL(f"not fetched in a PDF: {url[:200]}")

    def _static_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RefusedURL(f"not fetched in a PDF: {url[:200]}")
        # resolve() follows `..` and symbolic links before the folder check.
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise RefusedURL(f"not a static file: {url[:200]}")
        return path


@dataclass(frozen=True)
class EmbeddedFile:
    """A file carried inside the PDF (PDF/A-3 allows any), given as bytes, never as a URL."""

    name: str
    data: bytes
    description: str | None = None
    relationship: str = "Unspecified"  # ISO 32000-2 7.11.3: Data, Source, Alternative...


class PdfRenderer:
    """Renders documents from HTML; one renderer reused over a batch renders it faster.

    Each rendering otherwise loads the system's fonts anew (a Fontconfig set-up and
    cold glyph caches) and decodes every image again (the coop's logo on each
    invoice). A renderer keeps both for its lifetime: use one per batch, in one
    thread. Relative URLs point into the static folder, nothing else is read.
    """

    def __init__(self, static_folder: Path | str | None = None):
        root = Path(static_folder or current_app.static_folder).resolve()
        self.fetcher = StaticOnlyFetcher(root)
        self.base_url = root.as_uri() + "/"
        self.font_config = FontConfiguration()
        # Images by URL, as WeasyPrint caches them: only URLs the fetcher served (or refused).
        self.images: dict = {}

    def render(
        self,
        html: str,
        *,
        pdf_variant: str | None = None,
        attachments: Sequence[EmbeddedFile] = (),
    ) -> bytes:
        """The PDF of `html`.

        `pdf_variant` is WeasyPrint's (e.g. "pdf/a-3b"); `attachments` are embedded as given.
        """
        document = HTML(string=html, base_url=self.base_url, url_fetcher=self.fetcher)
        options = {"font_config": self.font_config, "cache": self.images}
        if pdf_variant:
            options["pdf_variant"] = pdf_variant
        embedded = [
            # From bytes in memory: the fetcher is passed only so that no default one exists.
            Attachment(
                file_obj=io.BytesIO(item.data),
                url_fetcher=self.fetcher,
                name=item.name,
                description=item.description,
                relationship=item.relationship,
            )
            for item in attachments
        ]
        if embedded:
            options["attachments"] = embedded
        return document.write_pdf(**options)


def render_pdf(
    html: str,
    *,
    static_folder: Path | str | None = None,
    pdf_variant: str | None = None,
    attachments: Sequence[EmbeddedFile] = (),
) -> bytes:
    """The PDF of one document (a batch renders faster through one PdfRenderer).

    `pdf_variant` is WeasyPrint's (e.g. "pdf/a-3b"); `attachments` are embedded as given.
    """
    return PdfRenderer(static_folder).render(html, pdf_variant=pdf_variant, attachments=attachments)
