"""The demo holds a sample of every job (issue 55 item 1): about 500 sample members (a few under screening),
inquiries open, answered and overdue, a seminar with a waiting list, minutes awaiting approval, a call in
its first review with proposals and reviewers, services with consent texts and residents linked and
consenting at 熊本市's counter, the next year's budget and estimates; every name marked 「（サンプル）」,
loaded through the operations (audited), only into an empty register, and `renkei check` finds the
demo's data sound."""

from __future__ import annotations

import sqlalchemy as sa

from admin.cli import DEMO_LOADER
from admin.commands.demo import load_desk_samples
from core import authz
from core.actor import console_actor
from core.audit import AuditRecord
from core.codes import corporate_number_problem
from secretariat.sample import members_csv
from tests.billing.test_sample_year import demo_year
from tests.conftest import sign_in

SAMPLE = "（サンプル）"


def load_demo(db) -> list[str]:
    """What ``renkei demo`` loads (the prefecture, the sample year, the desks' samples), committed."""
    from residents.consent.operations import ensure_default_levels

    demo_year(db)
    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})
    ensure_default_levels(db, loader)
    lines = load_desk_samples(db, loader)  # in the app's context only, as the command runs it
    db.commit()
    return lines


def test_every_desk_has_its_samples_marked_and_audited_and_a_second_load_adds_nothing(app, db):
    from billing.models import Budget, EstimateLetter
    from competition.models import Call, Proposal
    from competition.reviewing import stage_in_progress, reviewers
    from competition.models import Stage
    from governance.meetings import Meeting, MinutesStatus
    from residents.consent.models import ConsentRecord, DataService, ServiceStatus
    from residents.models import Resident, ServiceLink
    from secretariat import inquiries
    from secretariat.events import EventRegistration, RegistrationStatus
    from tenancy.members.models import MemberStatus, Organisation

    load_demo(db)
    orgs = list(db.scalars(sa.select(Organisation)))
    assert 495 <= len(orgs) <= 510 and all(SAMPLE in org.name for org in orgs)
    assert all(corporate_number_problem(org.corporate_number) is None for org in orgs)
    assert all(org.contact_email and org.contact_name for org in orgs) and len({o.industry for o in orgs}) >= 5
    assert sum(org.status is MemberStatus.applied for org in orgs) == 3  # awaiting screening
    assert members_csv() == members_csv()  # the sample file is generated the same every time

    operator = console_actor("someone", {authz.OPERATOR})
    listed = inquiries.list_inquiries(db, operator)
    assert {i.status for i in listed} >= {inquiries.InquiryStatus.received, inquiries.InquiryStatus.answered}
    assert len(inquiries.overdue(db, operator)) == 1 and all(SAMPLE in i.subject for i in listed)
    registrations = list(db.scalars(sa.select(EventRegistration)))
    assert sorted(r.status for r in registrations).count(RegistrationStatus.waitlisted) == 2
    assert db.scalar(sa.select(Meeting.minutes_status)) is MinutesStatus.draft

    call = db.scalars(sa.select(Call)).one()
    assert SAMPLE in call.title and stage_in_progress(db, call.id) is Stage.first
    assert db.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 3
    assert reviewers(db, operator, call.id) == []  # assigned from the demo's real accounts once they exist

    services = list(db.scalars(sa.select(DataService)))
    assert all(SAMPLE in s.name for s in services) and ServiceStatus.registered in {s.status for s in services}
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 5
    links = db.scalar(sa.select(sa.func.count()).select_from(ServiceLink))
    assert links >= 5 and db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == links
    # the first counter person's portal history shows what a service received (one request of the brokerage)
    from residents import portal_records

    first = db.scalars(sa.select(Resident).order_by(Resident.id)).first()
    received = portal_records.history(db, first).rows
    assert [(row["service"], row["items"], row["result"], row["reason"]) for row in received] == [
        ("子育て支援ナビ（サンプル）", ["生年月日"], "許可", "本人の同意に基づき許可")], received

    # last year's survey answered in part through its links, this year's questions carried with one new
    from core.calendar import fiscal_year_of, today_jst
    from secretariat import survey

    year = fiscal_year_of(today_jst())
    last = survey.response_rate(db, year - 1)
    assert last.recipients == 20 and 0 < last.answered < 20 and survey.response_rate(db, year) is None
    asked = survey.questions_of(db, year)
    assert [survey.is_new(db, q) for q in asked] == [False, False, False, True]
    assert all(SAMPLE in q.text for q in asked)

    assert db.scalars(sa.select(Budget).where(Budget.fiscal_year == 2026)).one().status.value == "draft"
    assert db.scalar(sa.select(sa.func.count()).select_from(EstimateLetter)) >= 5
    audited = set(db.scalars(sa.select(AuditRecord.action)))
    assert {"member.import", "member.apply", "inquiry.record", "inquiry.reply", "event.register", "meeting.minutes",
            "competition.propose", "consent.service.register", "billing.budget.draft", "survey.send"} <= audited

    before = db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    load_desk_samples(db, console_actor(DEMO_LOADER, {authz.OPERATOR}))
    db.commit()
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == before  # nothing twice


def test_the_pages_show_the_samples_and_renkei_check_finds_the_demo_sound(app, db, client):
    load_demo(db)
    sign_in(client, ["platform-operator"])
    from tenancy.members.operations import list_members

    first, approved = list_members(db, console_actor("someone", {authz.OPERATOR}), search=SAMPLE, status="approved")
    assert 480 <= approved <= 500  # the members list: about 500 sample members (a few have left, three in screening)
    members = client.get(f"/admin/members/?search={SAMPLE}")
    assert members.status_code == 200 and first[0].name in members.get_data(as_text=True)
    for path, words in (("/admin/inquiries/", "観光データの更新頻度について（サンプル）"),
                        ("/admin/events/", "データ利活用セミナー（サンプル）"),
                        ("/admin/competition/", "公募型企画コンペ（サンプル）"),
                        ("/admin/consent-services/", "子育て支援ナビ（サンプル）")):
        page = client.get(path, follow_redirects=True)
        assert page.status_code == 200 and words in page.get_data(as_text=True), path
    result = app.test_cli_runner().invoke(args=["check", "--as", "kensa"])
    assert result.exit_code == 0, result.output


def test_every_demo_login_lands_on_a_home_page_with_something_to_act_on(app, db, client):
    from core.calendar import fiscal_year_ja

    load_demo(db)
    vote = f"{fiscal_year_ja(2026)}予算の議決（サンプル）"
    audited = f"{db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)):,}"  # the auditor's recent records
    for roles, tenants, words in ((["platform-operator"], ["430005"], ["観光データの更新頻度について（サンプル）", vote]),
                                  (["finance-officer"], [], ["令和7年度"]),
                                  (["auditor"], [], [audited]),
                                  (["municipal-admin"], ["431001"], [vote]),
                                  (["municipal-admin"], ["432024"], [vote])):
        sign_in(client, roles, tenants)
        page = client.get("/admin/")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert all(word in text for word in words), (roles, tenants, [w for w in words if w not in text])
