"""Mailings to members by segment (issue 58 item 3): a mailing to 情報通信業 members in 熊本市 reaches exactly them;
one unsubscribes through the link without signing in and receives no further announcement but still the service
notice; a member's admin sets the preference on its own page; every act is audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.codes import corporate_check_digit
from core.outbox import Notification
from secretariat import mailings
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.conftest import OPERATOR, sign_in

CSRF = "mailing-csrf"
KUMAMOTO, YATSUSHIRO = "431001", "432024"


def _number(n: int) -> str:
    base = f"{n:012d}"
    return f"{corporate_check_digit(base)}{base}"


def _member(db, n: int, industry: str, city: str, *, status=MemberStatus.approved, joined=dt.date(2025, 4, 1)) -> str:
    number = _number(n)
    db.add(Organisation(corporate_number=number, name=f"会員{n}株式会社", kind=OrganisationKind.company, prefecture="熊本県",
                        representative="代表 太郎", contact_name=f"担当{n}", contact_email=f"m{n}@example.jp",
                        status=status, industry=industry, municipality_code=city, joined_on=joined))
    return number


@pytest.fixture
def register(db):
    """Members across industries and cities, with a withdrawn and an applying one that are never addressed."""
    numbers = {
        "ict_kumamoto_1": _member(db, 1, "G", KUMAMOTO),
        "ict_kumamoto_2": _member(db, 2, "G", KUMAMOTO, joined=dt.date(2026, 5, 1)),
        "ict_yatsushiro": _member(db, 3, "G", YATSUSHIRO),
        "maker_kumamoto": _member(db, 4, "E", KUMAMOTO),
        "ict_kumamoto_withdrawn": _member(db, 5, "G", KUMAMOTO, status=MemberStatus.withdrawn),
        "ict_kumamoto_applying": _member(db, 6, "G", KUMAMOTO, status=MemberStatus.applied),
    }
    db.commit()
    return numbers


def _expected(db, industry: str, city: str) -> list[str]:
    """The list the issue compares with, read straight from the register."""
    return sorted(db.scalars(sa.select(Organisation.corporate_number).where(
        Organisation.status == MemberStatus.approved, Organisation.industry == industry,
        Organisation.municipality_code == city)))


def _sent(db, mailing_id: int, mailing_kind: str) -> dict[str, str]:
    """corporate number -> body of the outbox's messages of one mailing (of the kind the mailing's kind queues)."""
    return {row.tenant_code: row.body for row in db.scalars(sa.select(Notification).where(
        Notification.kind == mailing_kind, Notification.dedupe_key.like(f"mailing:{mailing_id}:%")))}


def _write_and_send(client, db, kind: str, subject: str) -> int:
    form = {"csrf_token": CSRF, "kind": kind, "subject": subject, "body": "データ利活用セミナーを開催します。",
            "industries": "G", "municipality_codes": KUMAMOTO}
    saved = client.post("/admin/mailings/", data={**form, "action": "save"})
    assert saved.status_code == 302
    mailing_id = int(saved.headers["Location"].rstrip("/").split("/")[-1])
    asked = client.post(f"/admin/mailings/{mailing_id}/send", data={"csrf_token": CSRF})
    assert "送信は取り消せません" in asked.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.dedupe_key.like(f"mailing:{mailing_id}:%"))) == 0  # asked first: nothing queued yet
    sent = client.post(f"/admin/mailings/{mailing_id}/send", data={"csrf_token": CSRF, "confirmed": "1"})
    assert sent.status_code == 302
    return mailing_id


def test_a_mailing_to_ict_members_in_kumamoto_city_reaches_exactly_them_and_the_link_stops_only_announcements(app, client, db, register):
    sign_in(client, ["secretariat"], csrf=CSRF)
    expected = _expected(db, "G", KUMAMOTO)
    assert expected == sorted([register["ict_kumamoto_1"], register["ict_kumamoto_2"]])

    counted = client.post("/admin/mailings/", data={"csrf_token": CSRF, "action": "preview", "kind": "advertising",
                                                    "subject": "セミナーのご案内", "body": "本文", "industries": "G",
                                                    "municipality_codes": KUMAMOTO})
    page = counted.get_data(as_text=True)
    assert counted.status_code == 200 and 'data-count="2"' in page and "会員1株式会社" in page and "会員3株式会社" not in page
    assert db.scalar(sa.select(sa.func.count()).select_from(mailings.Mailing)) == 0  # a preview saves nothing

    first = _write_and_send(client, db, "advertising", "セミナーのご案内")
    announcements = _sent(db, first, "mailing.advertising")
    assert sorted(announcements) == expected
    body = announcements[register["ict_kumamoto_1"]]
    assert "データ利活用セミナー" in body and "配信を停止できます" in body and "送信者：" in body
    link = re.search(r"http://\S+/mail/unsubscribe/(\S+)", body)

    # the member opens the link without signing in: the GET only shows a button
    public = app.test_client()
    shown = public.get(f"/mail/unsubscribe/{link.group(1)}")
    assert shown.status_code == 200 and "会員1株式会社" in shown.get_data(as_text=True)
    assert mailings.receives_announcements(db, register["ict_kumamoto_1"])
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', shown.get_data(as_text=True)).group(1)
    done = public.post(f"/mail/unsubscribe/{link.group(1)}", data={"csrf_token": token})
    assert done.status_code == 200 and "unsubscribed" in done.get_data(as_text=True)
    db.expire_all()
    assert not mailings.receives_announcements(db, register["ict_kumamoto_1"])
    stopped = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "mailing.unsubscribe")).one()
    assert stopped.target_id == register["ict_kumamoto_1"]

    # a further announcement leaves the member out; a service notice still reaches it, marked as not advertising
    second = _write_and_send(client, db, "advertising", "交流会のご案内")
    assert sorted(_sent(db, second, "mailing.advertising")) == [register["ict_kumamoto_2"]]
    assert db.get(mailings.Mailing, second).opted_out_count == 1
    third = _write_and_send(client, db, "service", "会費のお知らせ")
    notices = _sent(db, third, "mailing.service")
    assert sorted(notices) == expected
    assert "事務連絡" in notices[register["ict_kumamoto_1"]] and "/mail/unsubscribe/" not in notices[register["ict_kumamoto_1"]]
    subjects = set(db.scalars(sa.select(Notification.subject).where(Notification.kind == "mailing.service")))
    assert subjects == {"【事務連絡】会費のお知らせ"}

    sends = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "mailing.send").order_by(AuditRecord.id)).all()
    assert len(sends) == 3 and str(first) == sends[0].target_id
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "mailing.create")) == 3


def test_a_forged_or_cut_link_changes_nothing(app, db, register):
    public = app.test_client()
    good = mailings.unsubscribe_token(app.config["SECRET_KEY"], register["ict_kumamoto_1"])
    for bad in (good[:-3], mailings.unsubscribe_token("another secret", register["ict_kumamoto_1"]),
                f"{register['ict_kumamoto_2']}.{good.partition('.')[2]}", "x"):
        assert public.get(f"/mail/unsubscribe/{bad}").status_code == 404
    assert mailings.receives_announcements(db, register["ict_kumamoto_1"])
    assert db.scalar(sa.select(sa.func.count()).select_from(mailings.MailPreference)) == 0


def test_a_members_admin_sets_its_own_preference_on_its_page_and_no_other(client, db, register):
    ours, theirs = register["ict_kumamoto_1"], register["ict_kumamoto_2"]
    sign_in(client, ["org-admin"], [ours], csrf=CSRF)
    page = client.get(f"/admin/members/{ours}/details").get_data(as_text=True)
    assert 'data-announcements="yes"' in page
    assert client.post(f"/admin/members/{ours}/mail-preference", data={"csrf_token": CSRF, "announcements": "0"}).status_code == 302
    assert 'data-announcements="no"' in client.get(f"/admin/members/{ours}/details").get_data(as_text=True)
    assert client.post(f"/admin/members/{ours}/mail-preference", data={"csrf_token": CSRF, "announcements": "1"}).status_code == 302
    db.expire_all()
    assert mailings.receives_announcements(db, ours)
    client.post(f"/admin/members/{theirs}/mail-preference", data={"csrf_token": CSRF, "announcements": "0"})
    assert mailings.receives_announcements(db, theirs)
    changes = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "mailing.preference")).all()
    assert [record.target_id for record in changes] == [ours, ours]
    # the mailings themselves are the desk's
    assert client.get("/admin/mailings/").status_code == 403


def test_a_refused_mailing_keeps_what_was_typed_and_saves_nothing(client, db, register):
    sign_in(client, ["secretariat"], csrf=CSRF)
    refused = client.post("/admin/mailings/", data={"csrf_token": CSRF, "action": "save", "kind": "advertising",
                                                    "subject": "", "body": "残した本文", "group_ids": "abc",
                                                    "industries": "Z"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "残した本文" in page and "件名を入力してください" in page
    assert "業種を一覧から選んでください" in page and "グループを一覧から選んでください" in page
    assert db.scalar(sa.select(sa.func.count()).select_from(mailings.Mailing)) == 0


def test_segments_by_group_event_attendance_size_and_joining_date(db, register):
    from secretariat import events, groups

    group = groups.create_group(db, OPERATOR, groups.GroupDraft("community", "データ利活用コミュニティ"))
    db.add(groups.GroupMember(group_id=group.id, corporate_number=register["ict_yatsushiro"], member_key=register["ict_yatsushiro"]))
    event = events.Event(kind=events.EventKind.member_seminar, title="会員セミナー", capacity=30,
                         audience=events.Audience.members, starts_at=dt.datetime(2026, 1, 10, 1, tzinfo=dt.timezone.utc),
                         ends_at=dt.datetime(2026, 1, 10, 3, tzinfo=dt.timezone.utc))
    db.add(event)
    db.flush()
    for number, attended in ((register["maker_kumamoto"], True), (register["ict_kumamoto_1"], False)):
        db.add(events.EventRegistration(event_id=event.id, name="参加 者", email="p@example.jp", corporate_number=number,
                                        status=events.RegistrationStatus.registered, attended=attended))
    db.flush()

    def reached(**segment) -> list[str]:
        return [org.corporate_number for org in
                mailings.preview(db, OPERATOR, "service", mailings.Segment(**segment)).recipients]

    assert reached(group_ids=(group.id,)) == [register["ict_yatsushiro"]]
    assert reached(event_ids=(event.id,)) == [register["maker_kumamoto"]]
    assert reached(joined_since=dt.date(2026, 4, 1)) == [register["ict_kumamoto_2"]]
    assert len(reached()) == 4  # every approved member, never the withdrawn or the applying
