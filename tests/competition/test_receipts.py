"""Receipts (issue 59 item 6): each declaration and proposal taken is told to the representative's contact with its
receipt number, the moment and the files' SHA-256 (the outbox), and the representative's people see what was
received when on their entry page."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from competition import operations as comp
from core.calendar import jst_text
from core.outbox import Notification
from tests.competition.conftest import EARLY, REPRESENTATIVE, pdf_of
from tests.competition.test_pages import CSRF, _representative

PROPOSAL = pdf_of(2)


def test_each_declaration_and_proposal_is_told_with_its_number_time_and_files(db, operator, call, group):
    docs = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]
    declaration = comp.declare(db, REPRESENTATIVE, call.id, group.id, docs, now=EARLY)
    proposal = comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "企画.pdf", PROPOSAL),
                                    [comp.Line("人件費", 4_000_000)], 4_000_000, now=EARLY)
    db.commit()
    sent = list(db.scalars(sa.select(Notification).where(Notification.kind == "competition.receipt").order_by(Notification.id)))
    assert [n.subject for n in sent] == [
        f"【受付番号 2025-D{declaration.id:05d}】参加表明書を受け付けました（{call.title}）",
        f"【受付番号 2025-P{proposal.id:05d}】企画提案書・積算書を受け付けました（{call.title}）"]
    first, second = sent
    assert first.tenant_code == "431001" and "提案グループ「観光データ連携」" in first.body  # 熊本市 represents the group
    assert f"受付日時：{jst_text(declaration.declared_at)}" in first.body
    assert first.body.count("SHA-256") == 3 and "誓約書（別紙様式４）：pledge.pdf" in first.body
    assert hashlib.sha256(PROPOSAL).hexdigest() in second.body and f"{len(PROPOSAL):,} バイト" in second.body


def test_the_representative_sees_what_was_received_when(client, db, operator, call, group):
    docs = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]
    declaration = comp.declare(db, REPRESENTATIVE, call.id, group.id, docs, now=EARLY)
    db.commit()
    _representative(client)
    html = client.get("/admin/competition-entry/").get_data(as_text=True)
    table = re.search(r'<table class="table table-sm" id="received">.*?</table>', html, re.S).group(0)
    assert f"2025-D{declaration.id:05d}" in table and "参加表明書" in table and "観光データ連携" in table
    assert "受付の記録" in html
