"""The clerk's verification page at ``/``, the holder's own page at ``/me``, and
``GET /v1/status``: what the clerk's page asks first.

The pages are a few static files in ``_web/`` (HTML, CSS, plain ES2020 JavaScript modules: no
framework, no CDN, no build step), read once from the package and served from memory, gzipped
for a browser that accepts it (the 33 KB of shared.js become 11), each with an ETag and
``Cache-Control: no-cache`` (on a poor line a browser revalidates: 304, no body). Everything
they load comes from this service, so they work on a LAN without internet. What both pages
share is written once: one stylesheet, ``shared.js`` (imported by ``clerk.js`` and ``me.js``),
and ``ways.html`` (the camera, upload and paste controls), put in place of a page's
``<!-- include ways.html -->`` line when the files are loaded.

``GET /v1/status`` (public, like ``/readyz``) tells the page whether to ask for an API key
(``anonymous``), for a purpose (``require_purpose``), whether this is an edge node and how its
upstream answers, and how fresh the lists are.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from . import _openapi as doc
from ._edge import Upstream
from ._runtime import Runtime
from ._settings import Settings

#: The page's own Content-Security-Policy, in place of the service's ``default-src 'none'``
#: (``_Edge`` keeps a header an answer sets). Scripts, styles and API calls from this origin
#: only, no inline code, no eval; ``img-src data:`` because the holder's photo arrives as Base64
#: in the verification JSON and is shown as a ``data:`` URL. The camera needs nothing more: a
#: ``MediaStream`` given to ``<video>.srcObject`` is no fetch (CSP's media-src does not apply),
#: and a captured frame leaves as a ``fetch()`` body (connect-src 'self').
PAGE_CSP: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                   "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'")
#: A page may ask for the camera (the card scanner), and for nothing else.
PAGE_PERMISSIONS: Final = "camera=(self), microphone=(), geolocation=()"

_HTML: Final = "text/html; charset=utf-8"
_SCRIPT: Final = "text/javascript; charset=utf-8"
#: URL path -> (file in _web/, media type). A page (HTML) gets PAGE_CSP and PAGE_PERMISSIONS.
_FILES: Final = {
    "/": ("index.html", _HTML),
    "/me": ("me.html", _HTML),
    "/clerk.css": ("clerk.css", "text/css; charset=utf-8"),
    "/shared.js": ("shared.js", _SCRIPT),
    "/clerk.js": ("clerk.js", _SCRIPT),
    "/me.js": ("me.js", _SCRIPT),
    "/icon.svg": ("icon.svg", "image/svg+xml"),
}
#: A page's line ``<!-- include NAME -->``: replaced by the file NAME in _web/, indented alike.
_INCLUDE: Final = re.compile(rb"^( *)<!-- include ([\w.-]+) -->$", re.MULTILINE)


@dataclass(frozen=True)
class _File:
    media_type: str
    body: bytes
    gzipped: bytes  # the same, Content-Encoding: gzip (HTTP transfer, not the payload codec)
    tag: str  # the ETag's hash; the gzipped bytes are another representation: "<tag>-gz"


def unchanged(request: Request, etag: str) -> bool:
    """Whether the caller holds ``etag`` already (one of the tags in its If-None-Match): the
    one check of the service's files and signed documents."""
    return etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}


def _load() -> dict[str, _File]:
    folder = resources.files("verifier_service") / "_web"
    out = {}

    def included(line: re.Match[bytes]) -> bytes:
        fragment = (folder / line[2].decode("ascii")).read_bytes().rstrip(b"\n")
        return b"\n".join(line[1] + part if part else part for part in fragment.split(b"\n"))

    for path, (name, media_type) in _FILES.items():
        body = _INCLUDE.sub(included, (folder / name).read_bytes())
        out[path] = _File(media_type, body, gzip.compress(body, 9, mtime=0),
                          hashlib.sha256(body).hexdigest()[:32])
    return out


def pages_router(settings: Settings, runtime: Runtime, upstream: Upstream | None) -> APIRouter:
    """``/``, ``/me`` and their files (not in the OpenAPI document), and ``GET /v1/status``."""
    router = APIRouter()
    files = _load()

    def page_file(path: str) -> Any:
        file = files[path]

        async def serve(request: Request) -> Response:
            zipped = "gzip" in request.headers.get("accept-encoding", "")
            etag = f'"{file.tag}-gz"' if zipped else f'"{file.tag}"'
            headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
            if file.media_type == _HTML:
                headers |= {"Content-Security-Policy": PAGE_CSP,
                            "Permissions-Policy": PAGE_PERMISSIONS}
            if unchanged(request, etag):
                return Response(status_code=304, headers=headers)
            if zipped:
                headers["Content-Encoding"] = "gzip"
            return Response(file.gzipped if zipped else file.body, media_type=file.media_type,
                            headers=headers)

        return serve

    for path in files:
        router.add_api_route(path, page_file(path), methods=["GET"], include_in_schema=False)

    @router.get("/v1/status", tags=["clerk page"], response_model=doc.ServiceStatus,
                responses=doc.public(),
                summary="What the clerk's page needs first: whether an API key and a purpose "
                "are needed, whether this is an edge node, how fresh the lists are")
    async def status() -> dict[str, Any]:
        state = None if upstream is None else upstream.status.to_json()
        return {"anonymous": settings.anonymous_allowed,
                "require_purpose": settings.require_purpose,
                "edge": upstream is not None,
                "upstream": None if state is None else {"reachable": state["reachable"],
                                                        "synced_at": state["last_sync"]},
                "lists": [info.to_json() for info in runtime.verifier.lists(datetime.now(UTC))]}

    return router
