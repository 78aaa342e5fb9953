"""Domain errors. Each maps to one RFC 7807 problem type and HTTP status in the API."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ValidationFailed(DomainError):
    status, type, title = 422, "validation-error", "Request is not valid"


class NotFound(DomainError):
    status, type, title = 404, "not-found", "Not found"


class Unauthorized(DomainError):
    status, type, title = 401, "unauthorized", "Not authenticated"


class Forbidden(DomainError):
    status, type, title = 403, "forbidden", "Not allowed"


class Conflict(DomainError):
    status, type, title = 409, "conflict", "Conflict"


class IdempotencyConflict(Conflict):
    type, title = "idempotency-conflict", "Idempotency key reused with a different request"


class InsufficientFunds(DomainError):
    status, type, title = 422, "insufficient-funds", "Insufficient funds"


class RegistrationRefused(DomainError):
    status, type, title = 422, "registration-refused", "Registration refused"


class ResponsibleGamblingBlock(DomainError):
    status, type, title = 403, "responsible-gambling", "Blocked by a responsible-gambling control"


class KycRequired(DomainError):
    status, type, title = 403, "kyc-required", "Approved identity verification required"


class UpstreamUnavailable(DomainError):
    status, type, title = 503, "upstream-unavailable", "A provider is unavailable"


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` (seconds) becomes the Retry-After header."""

    status, type, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: object) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
