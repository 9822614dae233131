"""The competition (issue 41 items 1-3): a call from the seed's template, questions answered and published
at once without who asked, declarations with their documents and the group's composition rule checked again,
proposals within the page limit and the cap, and late submissions refused naming the deadline."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from competition import operations as comp
from competition.files import pdf_pages
from competition.models import Declaration, Document, Proposal
from core.audit import AuditRecord
from core.calendar import JST
from core.errors import Conflict, Invalid, NotPermitted
from tests.competition.conftest import EARLY, FUKUOKA_CO, OTHER_ORG_ADMIN, REPRESENTATIVE, pdf_of

DOCS = [comp.Upload("participation_form", "参加表明書.pdf", pdf_of(1)),
        comp.Upload("company_profile", "会社概要.docx", b"PK\x03\x04" + b"\0" * 40),
        comp.Upload("pledge", "誓約書.pdf", b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n")]
LINES = [comp.Line("人件費", 3_000_000), comp.Line("クラウドサービス利用料", 1_200_000), comp.Line("旅費", 300_000)]


def _actions(db) -> list[str]:
    return list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("competition.%"))
                           .order_by(AuditRecord.id)))


def test_a_call_from_the_default_template_carries_the_seeds_thirteen_steps_and_200_point_table(db, operator):
    call = comp.create_call(db, operator, 2025)
    steps = comp.milestones(db, call.id)
    assert [m.label_ja for m in steps] == [
        "公募開始", "事業説明会申込期限", "事業説明会", "個別相談会申込期限", "個別相談会", "質問書の提出期限", "質問書の回答期限",
        "参加表明書提出期限", "企画提案書提出期限", "一次審査（書面）", "一次審査結果通知", "二次審査（ヒアリング）", "選定結果通知"]
    at = {m.key: m.at.astimezone(JST) for m in steps}
    assert at["call_opens"].date() == dt.date(2025, 3, 24)
    assert at["declaration_deadline"] == dt.datetime(2025, 4, 25, 12, tzinfo=JST)  # 正午
    assert at["proposal_deadline"] == dt.datetime(2025, 5, 14, 12, tzinfo=JST)
    assert next(m for m in steps if m.key == "consultation").ends_on == dt.date(2025, 4, 8)
    table = [(c.title, c.kind.value, c.max_score) for c in comp.criteria(db, call.id)]
    assert table == [("課題要件への適合性", "gate", 0), ("デジタルの取組みとしての有用性", "score", 100),
                     ("データ活用事例としての有用性", "score", 70), ("実施体制", "score", 15), ("見積", "score", 15)]
    assert comp.total_points(db, call.id) == 200
    assert (call.cap_yen, call.commission_count, call.page_limit) == (5_000_000, 3, 10)
    assert "participation_form" in next(m for m in steps if m.key == "declaration_deadline").documents
    with pytest.raises(Conflict):
        comp.create_call(db, operator, 2025)  # one call per fiscal year
    assert _actions(db) == ["competition.call.create"]


def test_the_public_view_shows_only_published_calls(db, operator):
    call = comp.create_call(db, operator, 2026)
    with pytest.raises(comp.NotFound):
        comp.public_call(db)
    comp.publish_call(db, operator, call.id)
    assert comp.public_call(db).call.fiscal_year == 2026 and comp.public_call(db).total_points == 200


def test_a_call_not_yet_published_takes_no_question_and_no_declaration(db, operator, group):
    draft = comp.create_call(db, operator, 2025)
    with pytest.raises(Conflict) as asked:
        comp.ask(db, REPRESENTATIVE, draft.id, "", now=EARLY)  # said before the empty question is judged
    with pytest.raises(Conflict) as declared:
        comp.declare(db, REPRESENTATIVE, draft.id, group.id, DOCS, now=EARLY)
    assert asked.value.message_ja == declared.value.message_ja == "この公募はまだ公開されていません。"
    assert db.scalar(sa.select(sa.func.count()).select_from(Declaration)) == 0
    assert "competition.question.ask" not in _actions(db) and "competition.declare" not in _actions(db)


def test_questions_are_answered_and_published_at_once_without_who_asked(db, operator, call, group):
    first = comp.ask(db, REPRESENTATIVE, call.id, "CSV での登録でも要件を満たしますか。", now=EARLY)
    second = comp.ask(db, OTHER_ORG_ADMIN, call.id, "県外企業が代表でもよいですか。", now=EARLY)
    comp.answer(db, operator, first.id, "将来 API によることを見据えたものであれば可能です。")
    assert comp.public_call(db).answers == []  # an answer waits for the publication
    comp.answer(db, operator, second.id, "可能です。県内の構成員を1者以上含めてください。")
    assert comp.publish_answers(db, operator, call.id) == 2
    published = comp.public_call(db).answers
    assert [q for _, q, _ in published] == [first.question, second.question]
    assert all("city-admin-1" not in str(row) and "431001" not in str(row) for row in published)
    with pytest.raises(Conflict):
        comp.answer(db, operator, first.id, "変更")  # a published answer stays as published
    late = dt.datetime(2025, 4, 11, 12, tzinfo=JST)
    with pytest.raises(comp.DeadlinePassed) as refused:
        comp.ask(db, REPRESENTATIVE, call.id, "まだ質問できますか。", now=late)
    assert "令和7年4月11日 12:00" in refused.value.message_ja and "質問書の提出" in refused.value.message_ja
    with pytest.raises(NotPermitted):
        comp.answer(db, REPRESENTATIVE, first.id, "自分で回答")
    assert _actions(db).count("competition.question.ask") == 2


def test_the_representative_declares_with_the_documents_kept_and_then_proposes_within_the_limits(db, call, group):
    declaration = comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    kept = db.scalars(sa.select(Document).where(Document.declaration_id == declaration.id).order_by(Document.id)).all()
    assert [(d.kind.value, d.content) for d in kept] == [(u.kind, u.content) for u in DOCS]
    assert kept[1].content_type.endswith("wordprocessingml.document")
    proposal = comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id,
                                    comp.Upload("proposal", "企画提案書.pdf", pdf_of(10)), LINES, 4_500_000, now=EARLY)
    assert (proposal.pages, proposal.estimate_total_yen) == (10, 4_500_000)
    assert _actions(db)[-2:] == ["competition.declare", "competition.propose"]
    after = json.loads(db.scalars(sa.select(AuditRecord.after).where(AuditRecord.action == "competition.propose")).one())
    assert after["total_yen"] == 4_500_000 and after["pages"] == 10
    rows = comp.list_declarations(db, REPRESENTATIVE.__class__(issuer="urn:test", subject="a", roles=frozenset({"auditor"})),
                                  call.id)
    assert [(d.group_name, p.pages) for d, p in rows] == [("観光データ連携", 10)]


def test_an_estimate_over_the_cap_and_a_pdf_over_the_page_limit_are_refused_in_words(db, call, group):
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    over = [*LINES, comp.Line("機器導入費", 600_000)]  # 5,100,000 yen
    with pytest.raises(Invalid) as refused:
        comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(3)),
                             over, 5_100_000, now=EARLY)
    assert "委託限度額 5,000,000 円（税込）を超えています" in refused.value.message_ja
    with pytest.raises(Invalid) as refused:
        comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(11)),
                             LINES, 4_500_000, now=EARLY)
    assert "11 ページあります。10 ページ以内" in refused.value.message_ja
    with pytest.raises(Invalid) as refused:
        comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)),
                             LINES, 4_000_000, now=EARLY)
    assert "明細の合計 4,500,000 円が総額 4,000,000 円と一致しません" in refused.value.message_ja
    with pytest.raises(Invalid) as refused:
        comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.docx", DOCS[1].content),
                             LINES, 4_500_000, now=EARLY)
    assert "PDF のファイルではありません" in refused.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 0
    assert "competition.propose" not in _actions(db)


def test_late_declarations_and_proposals_are_refused_naming_the_deadline(db, call, group):
    with pytest.raises(comp.DeadlinePassed) as refused:
        comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=dt.datetime(2025, 4, 25, 12, 0, 1, tzinfo=JST))
    assert refused.value.message_ja == "参加表明書の提出の期限（令和7年4月25日 12:00）を過ぎているため、受け付けられません。"
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=dt.datetime(2025, 4, 25, 11, 59, tzinfo=JST))
    with pytest.raises(comp.DeadlinePassed) as refused:
        comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)),
                             LINES, 4_500_000, now=dt.datetime(2025, 5, 14, 13, tzinfo=JST))
    assert "企画提案書の提出の期限（令和7年5月14日 12:00）" in refused.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 0


def test_a_group_breaking_the_composition_rule_cannot_declare(db, call, group):
    from tenancy.members.models import MemberStatus, Organisation

    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == FUKUOKA_CO)).status = MemberStatus.withdrawn
    with pytest.raises(comp.CompositionBroken) as refused:
        comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    assert "構成要件を満たしていない" in refused.value.message_ja and FUKUOKA_CO in refused.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(Declaration)) == 0


def test_only_the_representatives_people_declare_and_the_documents_are_checked(db, call, group):
    with pytest.raises(NotPermitted):
        comp.declare(db, OTHER_ORG_ADMIN, call.id, group.id, DOCS, now=EARLY)
    with pytest.raises(Invalid) as refused:
        comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS[:2], now=EARLY)
    assert "誓約書（別紙様式４）を添付してください" in refused.value.message_ja
    exe = comp.Upload("pledge", "誓約書.pdf", b"MZ\x90\x00 not a pdf")
    with pytest.raises(Invalid) as refused:
        comp.declare(db, REPRESENTATIVE, call.id, group.id, [*DOCS[:2], exe], now=EARLY)
    assert "PDF・Word（.docx）・Excel（.xlsx） のファイルではありません" in refused.value.message_ja
    huge = comp.Upload("pledge", "誓約書.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024))
    with pytest.raises(Invalid) as refused:
        comp.declare(db, REPRESENTATIVE, call.id, group.id, [*DOCS[:2], huge], now=EARLY)
    assert "10 MB を超えています" in refused.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(Declaration)) == 0


@pytest.mark.parametrize("pages", [1, 4, 12])
def test_the_page_count_of_a_written_pdf(pages):
    assert pdf_pages(pdf_of(pages)) == pages


def test_a_file_without_pages_is_refused():
    with pytest.raises(Invalid):
        pdf_pages(b"%PDF-1.4\nnothing here\n%%EOF")
