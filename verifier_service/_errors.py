"""The service's own errors: request problems, not card verdicts. Codes are in cardlib's
message catalogue (``specs/format.md`` §9.2); each names its HTTP status."""

from __future__ import annotations

from cardlib import CardError


class ServiceError(CardError):
    """A request the service refuses before any card is looked at."""

    category = "input"
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
