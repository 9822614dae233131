"""Without a mail server, the /join/ confirmation can be completed from the pages alone: the operator
reads the waiting message on the notifications page, with why it waits and its link to pass on."""

from __future__ import annotations

import re

import sqlalchemy as sa

from core.outbox import Notification
from tenancy.members.models import MemberStatus, Organisation
from tests.conftest import sign_in


def test_the_operator_finds_the_confirmation_link_in_the_waiting_message(client, db, tenant_factory):
    tenant_factory("430005")
    form = client.get("/join/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    client.post("/join/", data={"csrf_token": token, "corporate_number": "7000012050002", "name": "くまもとデータ株式会社",
                                "kind": "company", "prefecture": "熊本県", "representative": "代表 太郎",
                                "contact_name": "担当 花子", "contact_email": "apply@example.jp"})
    message_id = db.scalar(sa.select(Notification.id).where(Notification.kind == "member.confirm_email"))
    sign_in(client, ["platform-operator"])
    page = client.get(f"/admin/outbox/details/?id={message_id}").get_data(as_text=True)
    assert "メールサーバー（RENKEI_SMTP_HOST）が設定されていないため" in page
    link = re.search(r'<a href="(https?://[^/"]+)(/join/confirm/[^"]+)">', page).group(2)
    assert client.get(link).status_code == 200
    assert db.scalar(sa.select(Organisation.status)) == MemberStatus.applied
