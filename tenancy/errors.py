"""Exceptions of the tenancy package; each says what went wrong in English and Japanese."""

from __future__ import annotations

from core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable


class TenancyError(DomainError):
    """Root of tenancy errors."""


class TenantNotFound(TenancyError, NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"No tenant with code {code} is registered.",
            f"団体コード {code} の参加団体は登録されていません。",
            code=code,
        )


class TenantExists(TenancyError, Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"A tenant with code {code} is already registered.",
            f"団体コード {code} の参加団体はすでに登録されています。",
            code=code,
        )


class InvalidTenantData(TenancyError, Invalid):
    """Input failed validation; ``problems`` lists every field at fault."""


class ImportRejected(TenancyError, Invalid):
    """A file failed validation; nothing was written. ``problems`` name every bad line."""


class NotPermitted(TenancyError, Forbidden):
    pass


class IdentityUnavailable(TenancyError, Unavailable):
    pass
