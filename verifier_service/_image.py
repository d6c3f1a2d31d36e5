"""POST /v1/verify/image: a card photo or scan, or a PDF (every page), scanned and verified.

The body is the file itself (not a form). Its kind is judged **by its first bytes**, not by the
Content-Type (a phone may send a JPEG as ``application/octet-stream``, or a PNG as
``image/jpeg``); the declared type only helps the error detail.

**A PNG, JPEG or WebP image** is decoded within ``settings.max_image_pixels`` (judged from the
header, before the pixels are decoded) and given to :meth:`cardlib.Verifier.check_image`, which
reads the QR code, verifies it and cross-checks the print (Code128, MRZ) with the signed data.
The answer is ``result.to_json()`` (with ``scan``: the barcodes read, the MRZ, whether the
print agrees); the status is the one of ``/v1/verify`` (:data:`VERDICT_STATUS`): 200 for
``valid``, ``revoked`` and ``unknown``, 422 for ``invalid`` (``print_mismatch`` included).

**A PDF** (``%PDF-`` in its first 1024 bytes, as PDF readers accept it) is opened with PDFium
(pypdfium2, this module is its one seam). More pages than ``settings.max_pdf_pages`` refuse the
request (413 ``pdf_too_many_pages``) before any page is rendered. Each page is rendered in
grey at 300 dpi, or at the lower resolution that keeps it within ``settings.max_image_pixels``
(a poster-size page is scaled down, never rendered as a bomb), and checked like an image. The
answer is ``{"pages": [...]}``, one entry per page in order:

- a page with a card: ``{"page": n, "render": {"width", "height", "dpi"}, **result.to_json()}``
- a page without one: ``{"page": n, "render": {...}, **cardlib.error_to_json(err)}`` (usually
  ``barcode_not_found``; ``render`` is absent when the page could not be rendered at all). A
  ``barcode_not_found`` answer carries ``unsigned_mrz`` (the three lines) when the back's MRZ
  was read without its QR code; a role with restricted fields does not get it.

The status: **200** when at least one page holds a card whose verdict is not ``invalid``;
**422** when pages hold cards and every one of them is ``invalid``; when no page holds a card,
the answer is the error JSON of ``barcode_not_found`` with the ``pages`` added, and its status
is that error's own (400, by ``cardlib.HTTP_STATUS`` for the ``input`` category: the same
status an image without a card gets, so one code means one status on this route).

**Anything else** is a :class:`cardlib.CardError` with a stable code, answered with
``cardlib.error_to_json(err)`` and the error's ``http_status`` or its category's status: an
empty body (400 ``request_invalid``), bytes that are no PNG, JPEG, WebP or PDF, a GIF, TIFF or
HEIC included (415 ``upload_unsupported``), a damaged image or one over the pixel bound (400
``image_invalid``), an image without a card (400 ``barcode_not_found``), a damaged or
password-protected PDF (400 ``pdf_invalid``), a missing barcode reader or PDF renderer (503
``decoder_unavailable``). A page's own ``input`` errors stay on that page; any other error (a
missing decoder) is the whole request's.

PDFium is not thread-safe: every call into it holds one lock, so concurrent requests render
one page at a time (the barcode reading runs outside the lock).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from cardlib import (
    BarcodeNotFoundError,
    CardError,
    DecoderUnavailableError,
    VerificationResult,
    Verifier,
    error_to_json,
)

from ._errors import (
    PdfInvalidError,
    PdfTooManyPagesError,
    RequestInvalidError,
    UploadUnsupportedError,
    http_status,
)
from ._settings import Settings

if TYPE_CHECKING:
    from PIL.Image import Image

#: The HTTP status of each verdict, for /v1/verify and this route alike.
VERDICT_STATUS: Final = MappingProxyType({"valid": 200, "revoked": 200, "unknown": 200,
                                          "invalid": 422})

#: Pages are rendered at this resolution unless the pixel bound asks for less: the card's QR
#: modules (0.42 mm) are 5 pixels wide at 300 dpi, and the MRZ reader expects a 300 dpi back.
PDF_DPI: Final = 300
_PDF_HEADER_WINDOW = 1024  # PDF readers accept "%PDF-" anywhere in the first 1024 bytes
_PAGE_FAULT = "input"  # a page's own fault (cardlib's category): kept on the page
_PDFIUM_LOCK = threading.Lock()

# Image kinds read here: name → does ``data`` start like one.
_READ: Final[dict[str, Callable[[bytes], bool]]] = {
    "PNG": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "JPEG": lambda data: data.startswith(b"\xff\xd8\xff"),
    "WebP": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
}
# Kinds recognised only to say what was sent (none of them is read).
_NAMED: Final[dict[str, Callable[[bytes], bool]]] = {
    "a GIF image": lambda data: data[:6] in (b"GIF87a", b"GIF89a"),
    "a TIFF image": lambda data: data[:4] in (b"II*\x00", b"MM\x00*"),
    "a BMP image": lambda data: data[:2] == b"BM" and data[6:10] == b"\x00" * 4,
    "a HEIC/HEIF photo": lambda data: data[4:8] == b"ftyp" and data[8:12] in (
        b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"),
    "an AVIF image": lambda data: data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"),
    "a ZIP archive (or an Office document)": lambda data: data.startswith(b"PK\x03\x04"),
}


Answer = Callable[[VerificationResult], dict[str, Any]]


def _plain(result: VerificationResult) -> dict[str, Any]:
    return result.to_json()


def verify_upload(verifier: Verifier, data: bytes, content_type: str,
                  settings: Settings, answer: Answer = _plain) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON answer for an uploaded image or PDF (see the module's doc).

    ``answer`` turns each card's result into its JSON: the service passes the caller's (the
    fields its role sees, and the access event of the look)."""
    try:
        if not data:
            raise RequestInvalidError("the request body is empty: send the card's photo or "
                                      "scan (PNG, JPEG, WebP) or its PDF as the body")
        if any(starts(data) for starts in _READ.values()):  # before the PDF's looser test
            return _check_picture(verifier, data, settings, answer)
        if _is_pdf(data):
            return _check_pdf(verifier, bytes(data), settings, answer)
        raise UploadUnsupportedError(_unsupported(data, content_type))
    except CardError as err:
        return http_status(err), error_to_json(err)


def unsigned_hidden(answer: dict[str, Any]) -> None:
    """Drop, in place, the MRZ lines read without a QR code (``unsigned_mrz`` of a
    ``barcode_not_found`` answer, and of each page's) for a role that does not see every field:
    they carry the holder's names and numbers."""
    answer.pop("unsigned_mrz", None)
    for page in answer.get("pages") or []:
        if isinstance(page, dict):
            page.pop("unsigned_mrz", None)


def _check_picture(verifier: Verifier, data: bytes, settings: Settings,
                   answer: Answer) -> tuple[int, dict[str, Any]]:
    picture = _load_image(data, settings.max_image_pixels)
    shown = answer(verifier.check_image(picture))
    return VERDICT_STATUS[shown["status"]], shown


def _check_pdf(verifier: Verifier, data: bytes, settings: Settings,
               answer: Answer) -> tuple[int, dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    verdicts: list[str] = []
    with _open_pdf(data) as pdf:
        if pdf.page_count > settings.max_pdf_pages:
            raise PdfTooManyPagesError(
                f"the PDF has {pdf.page_count} pages; at most {settings.max_pdf_pages} are "
                "read from one upload: send only the pages that show the card")
        for index in range(pdf.page_count):
            entry: dict[str, Any] = {"page": index + 1}
            try:
                picture, render = pdf.render(index, dpi=PDF_DPI,
                                             max_pixels=settings.max_image_pixels)
                entry["render"] = render.to_json()
                shown = answer(verifier.check_image(picture))
            except CardError as err:
                if err.category != _PAGE_FAULT:  # a missing decoder: no page can be read
                    raise
                pages.append(entry | error_to_json(err))
                continue
            verdicts.append(shown["status"])
            pages.append(entry | shown)
    if not verdicts:
        error = BarcodeNotFoundError(
            f"no page of the PDF ({len(pages)} page{'s' if len(pages) != 1 else ''}) shows a "
            "card's QR code: send the card's back, scanned flat and sharp")
        return http_status(error), error_to_json(error) | {"pages": pages}
    status = 200 if any(v != "invalid" for v in verdicts) else VERDICT_STATUS["invalid"]
    return status, {"pages": pages}


def _is_pdf(data: bytes) -> bool:
    return b"%PDF-" in data[:_PDF_HEADER_WINDOW]


def _unsupported(data: bytes, content_type: str) -> str:
    declared = content_type.split(";")[0].strip().lower()
    if declared.startswith("multipart/"):
        return ("the body is a multipart form: send the file's own bytes as the body (for "
                "example curl --data-binary @card.png -H 'Content-Type: image/png')")
    what = next((name for name, starts in _NAMED.items() if starts(data)), None)
    sent = what or f"unknown data (starting {data[:8].hex(' ')})"
    if declared:
        sent += f", sent as {declared[:60]}"
    return (f"the body is {sent}: this route reads PNG, JPEG and WebP images and PDF files; "
            "photograph or scan the card in one of these")


def _load_image(data: bytes, max_pixels: int) -> Image:
    """The decoded image, refused from its header when over ``max_pixels`` (needs the
    ``cards`` extra: Pillow and the barcode readers)."""
    try:
        from cardlib.barcodes import load_image
    except ImportError as err:
        raise DecoderUnavailableError(
            f"reading card images needs the cards extra (pip install 'cardlib[cards]'): {err}"
        ) from err
    return load_image(data, max_pixels=max_pixels)


# --- the pypdfium2 seam ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendering:
    """How a page was rendered: its size in pixels and the resolution used."""

    width: int
    height: int
    dpi: int

    def to_json(self) -> dict[str, int]:
        return {"width": self.width, "height": self.height, "dpi": self.dpi}


def _pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as err:
        raise DecoderUnavailableError(
            "reading PDF files needs pypdfium2 (pip install 'cardlib[service]'): "
            f"{err}") from err
    return pypdfium2


class _Pdf:
    """A PDF opened with PDFium: its page count and each page rendered to a grey PIL image.

    Every PDFium call holds ``_PDFIUM_LOCK``; PDFium's exceptions become :class:`CardError`
    subclasses here."""

    def __init__(self, pdfium: Any, document: Any) -> None:
        self._pdfium = pdfium
        self._document = document
        self.page_count: int = len(document)

    def render(self, index: int, *, dpi: int, max_pixels: int) -> tuple[Image, Rendering]:
        """Page ``index`` at ``dpi``, or lower to stay within ``max_pixels``."""
        with _PDFIUM_LOCK:
            try:
                page = self._document[index]
            except self._pdfium.PdfiumError as err:
                raise PdfInvalidError(f"page {index + 1} of the PDF cannot be read: "
                                      f"{err}") from err
            try:
                width, height = (float(v) for v in page.get_size())
                scale = _scale(width, height, dpi / 72, max_pixels, index)
                bitmap = page.render(scale=scale, grayscale=True, draw_annots=True)
                try:
                    # to_pil() may share the bitmap's memory: copy before PDFium frees it
                    picture: Image = bitmap.to_pil().copy()
                finally:
                    bitmap.close()
            except (self._pdfium.PdfiumError, ValueError, OverflowError) as err:
                raise PdfInvalidError(f"page {index + 1} of the PDF cannot be rendered: "
                                      f"{err}") from err
            finally:
                page.close()
        return picture, Rendering(picture.width, picture.height, round(scale * 72))

    def close(self) -> None:
        with _PDFIUM_LOCK:
            self._document.close()


@contextmanager
def _open_pdf(data: bytes) -> Iterator[_Pdf]:
    pdfium = _pdfium()
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as err:
            raise PdfInvalidError(_unreadable(pdfium, err, data)) from err
    try:
        pdf = _Pdf(pdfium, document)
    except BaseException:
        with _PDFIUM_LOCK:
            document.close()
        raise
    try:
        yield pdf
    finally:
        pdf.close()


def _unreadable(pdfium: Any, err: Any, data: bytes) -> str:
    # PDFium's error code is the thread's last one, stale when the document loaded but has no
    # pages: a password is only named for a file that declares encryption.
    code = getattr(err, "err_code", None)
    encrypted = b"/Encrypt" in data
    if encrypted and code == pdfium.raw.FPDF_ERR_PASSWORD:
        return "the PDF is protected by a password: send it without one"
    if encrypted and code == pdfium.raw.FPDF_ERR_SECURITY:
        return "the PDF is encrypted with a scheme PDFium does not support: send it unencrypted"
    return "the PDF is damaged, has no pages or is not a PDF: export or scan it again"


def _scale(width: float, height: float, wanted: float, max_pixels: int, index: int) -> float:
    """The render scale (pixels per point): ``wanted``, or less to keep the page's pixel count
    within ``max_pixels``."""
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise PdfInvalidError(f"page {index + 1} of the PDF has no usable size "
                              f"({width} x {height} pt)")
    scale = wanted
    if _pixels(width, height, scale) > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
        while scale > 0 and _pixels(width, height, scale) > max_pixels:  # ceil() rounds up
            scale *= 0.999
    if math.ceil(width * scale) < 1 or math.ceil(height * scale) < 1 or scale <= 0:
        raise PdfInvalidError(f"page {index + 1} of the PDF cannot be rendered within "
                              f"{max_pixels} pixels ({width:.0f} x {height:.0f} pt)")
    return scale


def _pixels(width: float, height: float, scale: float) -> int:
    return math.ceil(width * scale) * math.ceil(height * scale)
