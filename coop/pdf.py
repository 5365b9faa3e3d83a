"""PDF documents (purchase orders, invoices) rendered from HTML by WeasyPrint, safely.

The HTML carries text that members and suppliers typed (spec/invoicing.md,
"Rendering safely"): whatever URL it names, WeasyPrint may read only our own
static files, from disk, and `data:` URLs. Anything else (`http:`, `file:` outside
the static folder, `ftp:`...) is refused before any file is opened or any
connection made; WeasyPrint logs the refusal and renders without the resource.
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import HTML
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


def render_pdf(html: str, *, static_folder: Path | str | None = None) -> bytes:
    """The PDF of `html`; relative URLs point into the static folder, nothing else is read."""
    root = Path(static_folder or current_app.static_folder)
    document = HTML(
        string=html,
        base_url=root.resolve().as_uri() + "/",
        url_fetcher=StaticOnlyFetcher(root),
    )
    return document.write_pdf()
