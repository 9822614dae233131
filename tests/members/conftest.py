"""Helpers for the members tests: an application carried through the public steps."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from core.outbox import Notification

NTA = "7000012050002"  # 国税庁, the corporate number the issue gives as an example


def token_from_outbox(db, number: str) -> str:
    """The token of the confirmation link the applicant was mailed (read from the outbox's message)."""
    body = db.scalar(sa.select(Notification.body).where(Notification.kind == "member.confirm_email",
                                                        Notification.tenant_code == number)
                     .order_by(Notification.id.desc()))
    return re.search(r"/confirm/([A-Za-z0-9_-]+)", body).group(1)


@pytest.fixture
def home_prefecture(tenant_factory):
    """熊本県 registered as the platform's prefecture: the home prefecture the consortium's rules count."""
    return tenant_factory("430005")


@pytest.fixture
def applied(db):
    """Apply as a company and confirm its e-mail (the steps that need no secretariat); returns a maker."""
    from tenancy.members import operations as members

    def make(number: str = NTA, *, prefecture: str = "熊本県", name: str = "くまもとデータ株式会社",
             email: str = "apply@example.jp", kind: str = "company"):
        members.apply(db, members.Application(number, name, kind, prefecture, "代表 太郎", "担当 花子", email),
                      confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
        members.confirm_email(db, token_from_outbox(db, number))
        db.commit()
        return number

    return make


def today() -> dt.date:
    return dt.date.today()
