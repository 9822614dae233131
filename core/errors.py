"""The root of the domain exception tree and its kinds.

``kind`` (not found, conflict, invalid, forbidden, unavailable) decides the HTTP status in the
web shell, mapped in one place (admin/problems.py); every error carries English and Japanese
text and, for input errors, one problem per field (:func:`problem`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Root of every error a domain operation raises on purpose.

    ``kind`` decides the HTTP status in the web shell; ``message_en`` and ``message_ja`` are
    what a municipal clerk reads, so they say what is wrong and what to do.
    ``problems`` lists field-level issues as ``{"field": ..., "message_en": ..., "message_ja": ...}``.
    """

    kind: ClassVar[str] = "invalid"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message_en: str,
        message_ja: str | None = None,
        *,
        problems: list[dict[str, Any]] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_ja = message_ja or message_en
        self.problems = problems or []
        self.details = details


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    kind = "conflict"


class Invalid(DomainError):
    kind = "invalid"

    @classmethod
    def listing(cls, lead_en: str, lead_ja: str, problems: list[dict[str, Any]]) -> Invalid:
        """The refusal's lead sentence followed by each problem's message, the problems kept for the form."""
        return cls(" ".join([lead_en, *(p["message_en"] for p in problems)]),
                   lead_ja + " ".join(p["message_ja"] for p in problems), problems=problems)


class Forbidden(DomainError):
    kind = "forbidden"


class Unavailable(DomainError):
    """A system renkei depends on (Keycloak, SMTP) did not answer; trying again may work."""

    kind = "unavailable"
    retryable = True


def problem(field: str, message_en: str, message_ja: str) -> dict[str, str]:
    """One field-level problem, in the shape every ``DomainError.problems`` list uses."""
    return {"field": field, "message_en": message_en, "message_ja": message_ja}


class NotPermitted(Forbidden):
    """The authorization policy refused the act (see :mod:`core.authz`)."""
