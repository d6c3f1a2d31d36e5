"""The service's own errors: request problems, not card verdicts. Codes are in cardlib's
message catalogue (``specs/format.md`` §9.2); each names its HTTP status."""

from __future__ import annotations

from typing import Literal

from cardlib import HTTP_STATUS, CardError


def http_status(err: CardError) -> int:
    """The HTTP status of an error: its own ``http_status`` (the service's errors), else its
    category's (``cardlib.HTTP_STATUS``, the table behind the CLI's exit codes)."""
    status = getattr(err, "http_status", None)
    return status if isinstance(status, int) else HTTP_STATUS[err.category]


class ServiceError(CardError):
    """A request the service refuses before any card is looked at."""

    category: Literal["invalid", "input", "environment", "internal"] = "input"
    http_status = 400


class RequestInvalidError(ServiceError, ValueError):
    code = "request_invalid"


class BodyTooLargeError(ServiceError):
    code = "body_too_large"
    http_status = 413


class ApiKeyRequiredError(ServiceError):
    code = "api_key_required"
    http_status = 401


class NotAvailableError(ServiceError):
    code = "not_available"
    http_status = 404


class ApiKeyInvalidError(ServiceError):
    code = "api_key_invalid"
    http_status = 401


class ForbiddenError(ServiceError):
    code = "forbidden"
    http_status = 403


class PurposeRequiredError(ServiceError):
    code = "purpose_required"


class RateLimitedError(ServiceError):
    code = "rate_limited"
    http_status = 429
    retry_after = 1  # seconds, sent as Retry-After


class NotFoundError(ServiceError):
    code = "not_found"
    http_status = 404


class UploadUnsupportedError(ServiceError):
    """An upload that is no PNG, JPEG or WebP image and no PDF (/v1/verify/image)."""

    code = "upload_unsupported"
    http_status = 415


class PdfInvalidError(ServiceError, ValueError):
    """A PDF (or one of its pages) that PDFium cannot read: damaged, or password-protected."""

    code = "pdf_invalid"


class PdfTooManyPagesError(ServiceError):
    """A PDF with more pages than the service reads from one upload (``max_pdf_pages``)."""

    code = "pdf_too_many_pages"
    http_status = 413


class SigningKeyUnavailableError(ServiceError):
    code = "signing_key_unavailable"
    http_status = 409


class RequestTimeoutError(ServiceError):
    code = "request_timeout"
    http_status = 408


class StoreUnavailableError(ServiceError):
    code = "store_unavailable"
    category = "environment"
    http_status = 503


class AccessCodeWrongError(ServiceError):
    """/me: the access code is not the card holder's (or the holder has none, or it is not a
    code at all: refused alike, so the answer does not tell which)."""

    code = "access_code_wrong"
    http_status = 403


class HolderViewUnavailableError(ServiceError):
    """/me with an access code on a service without an issuance registry."""

    code = "holder_view_unavailable"
    http_status = 404
