"""The web apps, served from their build (`web/dist`): the citizen app at `/`, the officer
workspace at `/petugas/` and the command center at `/ops/`. Hashed assets are cached for a year;
pages and the service worker are revalidated on every visit; text is gzipped once per file."""

from __future__ import annotations

import gzip
import mimetypes
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from mpp_shared.problems import Problem

# Which page answers a path no file matches (the apps route in the browser).
APP_PAGES = (("petugas", "petugas/index.html"), ("ops", "ops/index.html"))
CITIZEN_PAGE = "index.html"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
)
MIN_GZIP = 1024

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>MPP Elektronik</title>
<p>The web apps are not built yet: run <code>make up</code> (or <code>make web</code>).</p>"""


def content_security_policy(media_origins: list[str]) -> str:
    """Only the gateway's own scripts and styles; uploaded documents are previewed from S3 by
    short-lived links, so its origin may serve images and framed PDFs."""
    media = " ".join(media_origins)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob: {media}".strip(),
            f"frame-src 'self' blob: {media}".strip(),
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@lru_cache(maxsize=256)
def _read(path: Path, mtime_ns: int, zipped: bool) -> bytes:
    """A file's bytes, gzipped if asked; keyed by modification time so a rebuild is seen."""
    del mtime_ns
    data = path.read_bytes()
    return gzip.compress(data, compresslevel=9, mtime=0) if zipped else data


class WebApps:
    """Answers GET and HEAD for every path that is not the API."""

    def __init__(self, root: Path, media_origins: list[str]) -> None:
        self.root = root.resolve()
        self.csp = content_security_policy(media_origins)

    def file_for(self, path: str) -> tuple[Path, bool] | None:
        """The file that answers `path` and whether it is a page of an app (fallback)."""
        if not (self.root / CITIZEN_PAGE).is_file():
            return None
        relative = path.strip("/")
        if relative:
            candidate = (self.root / relative).resolve()
            if candidate.is_relative_to(self.root) and candidate.is_file():
                return candidate, candidate.suffix == ".html"
            if "." in relative.rsplit("/", 1)[-1] or relative.startswith("api/"):
                raise Problem(404, "not-found")  # a missing file is no page
        first = relative.split("/", 1)[0]
        page = next((page for prefix, page in APP_PAGES if first == prefix), CITIZEN_PAGE)
        return self.root / page, True

    def response(self, request: Request, path: str) -> Response:
        """The file or app page for `path`, compressed when the client takes gzip."""
        found = self.file_for(path)
        if found is None:
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "30"})
        file, is_page = found
        media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        stat = file.stat()
        zipped = (
            "gzip" in request.headers.get("accept-encoding", "")
            and media_type.startswith(COMPRESSIBLE)
            and stat.st_size >= MIN_GZIP
        )
        hashed = "/assets/" in f"/{file.relative_to(self.root).as_posix()}"
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}{"-gz" if zipped else ""}"'
        headers = {
            "Cache-Control": IMMUTABLE if hashed else REVALIDATE,
            "Vary": "Accept-Encoding",
            "ETag": etag,
        }
        if is_page:
            headers["Content-Security-Policy"] = self.csp
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        body = _read(file, stat.st_mtime_ns, zipped)
        if zipped:
            headers["Content-Encoding"] = "gzip"
        if file.name == "sw.js":
            headers["Service-Worker-Allowed"] = "/"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=headers, media_type=media_type)
        return Response(body, headers=headers, media_type=media_type)
