"""Events (issue 40 item 4): the waiting list and its promotion on a cancellation, messages through the
outbox, attendance on the day, and the year's figures against the targets. Registrations and cancellations
at once are raced in tests/test_races.py (both databases)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.calendar import JST, UTC
from core.errors import Conflict, Invalid, NotPermitted
from core.outbox import Notification
from secretariat import events as ev
from tests.conftest import OPERATOR

MEMBER_ADMIN = Actor(issuer="urn:test", subject="org-admin-1", name="会員 一郎", roles=frozenset({"org-admin"}),
                     tenant_codes=frozenset({"7000012050002"}))
CITY_STAFF = Actor(issuer="urn:test", subject="staff-1", name="市 職員", roles=frozenset({"municipal-staff"}),
                   tenant_codes=frozenset({"431001"}))


def _jst(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=JST).astimezone(UTC)


def _event(db, *, kind="member_seminar", capacity=2, audience="anyone", starts=None) -> ev.Event:
    starts = starts or dt.datetime.now(UTC) + dt.timedelta(days=10)
    return ev.create_event(db, OPERATOR, ev.EventDraft(kind=kind, title="DX 事例セミナー", starts_at=starts,
                                                       ends_at=starts + dt.timedelta(hours=2), capacity=capacity,
                                                       audience=audience, place="熊本市国際交流会館"))


def _who(n: int, number: str = "") -> ev.Registrant:
    return ev.Registrant(name=f"参加 {n}", email=f"p{n}@example.jp", corporate_number=number)


def test_over_capacity_the_next_goes_on_the_waiting_list_and_moves_up_when_someone_cancels(db):
    event = _event(db, capacity=2)
    first, second, third, fourth = (ev.register_public(db, event.id, _who(n), source_ip="", now=None) for n in range(4))
    assert [r.status for r in (first, second, third, fourth)] == [ev.R.registered, ev.R.registered,
                                                                   ev.R.waitlisted, ev.R.waitlisted]
    cancelled, promoted = ev.cancel(db, OPERATOR, second.id)
    assert cancelled.status is ev.R.cancelled and promoted.id == third.id and third.status is ev.R.registered
    assert fourth.status is ev.R.waitlisted  # one place, one promotion
    kinds = list(db.scalars(sa.select(Notification.kind).order_by(Notification.id)))
    assert kinds == ["event.registered", "event.registered", "event.waitlisted", "event.waitlisted", "event.promoted"]
    assert db.scalar(sa.select(Notification.recipients).where(Notification.kind == "event.promoted")) == "p2@example.jp"
    _, nobody = ev.cancel(db, OPERATOR, fourth.id)  # a waiting one leaves: no place came free
    assert nobody is None
    with pytest.raises(ev.CannotCancel):
        ev.cancel(db, OPERATOR, fourth.id)


def test_one_address_registers_once_and_a_begun_event_is_closed(db):
    event = _event(db)
    ev.register_public(db, event.id, _who(1), source_ip="")
    with pytest.raises(Conflict):
        ev.register_public(db, event.id, ev.Registrant("別名", "P1@example.jp"), source_ip="")
    past = _event(db, starts=dt.datetime.now(UTC) - dt.timedelta(hours=1))
    with pytest.raises(ev.EventFull):
        ev.register_public(db, past.id, _who(2), source_ip="")


def test_signed_in_registration_follows_the_audience(db):
    members_only = _event(db, audience="members")
    staff_only = _event(db, kind="staff_training", audience="staff")
    mine = ev.register(db, MEMBER_ADMIN, members_only.id, _who(1))
    assert mine.corporate_number == "7000012050002" and mine.subject == "org-admin-1"
    with pytest.raises(NotPermitted):
        ev.register(db, MEMBER_ADMIN, staff_only.id, _who(1))
    with pytest.raises(NotPermitted):
        ev.register(db, CITY_STAFF, members_only.id, _who(2))
    assert ev.register(db, CITY_STAFF, staff_only.id, _who(2)).status is ev.R.registered
    with pytest.raises(ev.NotFound):  # the public form reaches open events only
        ev.register_public(db, members_only.id, _who(3), source_ip="")
    with pytest.raises(ev.NotFound):  # a person cancels only their own
        ev.cancel(db, CITY_STAFF, mine.id)


def test_bad_event_input_is_named_per_field(db):
    now = dt.datetime.now(UTC)
    with pytest.raises(Invalid) as refused:
        ev.create_event(db, OPERATOR, ev.EventDraft(kind="party", title="", starts_at=now, ends_at=now, capacity=0,
                                                    audience="all", online_url="javascript:alert(1)"))
    assert {p["field"] for p in refused.value.problems} == {"kind", "title", "capacity", "ends_at", "audience",
                                                            "online_url"}


def test_reminders_are_queued_once_for_the_registered_the_day_before(db):
    now = _jst(2025, 11, 25, 9)  # Tuesday; the next business day is Wednesday 26
    soon = _event(db, starts=_jst(2025, 11, 26, 14), capacity=1)
    later = _event(db, starts=_jst(2025, 12, 10, 14))
    for event in (soon, later):
        ev.register_public(db, event.id, _who(1), source_ip="", now=_jst(2025, 11, 1, 9))
    ev.register_public(db, soon.id, _who(2), source_ip="", now=_jst(2025, 11, 1, 9))  # waiting: no reminder
    assert ev.queue_reminders(db, OPERATOR, now=now) == 1
    assert ev.queue_reminders(db, OPERATOR, now=now) == 0
    assert db.scalar(sa.select(Notification.recipients).where(Notification.kind == "event.reminder")) == "p1@example.jp"


def test_attendance_and_the_years_figures_against_the_targets_are_exact(db, applied):
    from tenancy.members import operations as members

    # FY2025: a seminar in June and another in October; an open event in September; the target of seminars set
    member_number = "7000012050002"
    newcomer = "2000012010019"  # attends the June seminar as a non-member, joins in July
    june = _event(db, starts=_jst(2025, 6, 10, 14), capacity=3)
    september = _event(db, kind="open_event", starts=_jst(2025, 9, 20, 13), capacity=200)
    october = _event(db, starts=_jst(2025, 10, 15, 14), capacity=10)
    ev.set_target(db, OPERATOR, 2025, "member_seminar", 4, 60)
    applied(member_number)
    db.execute(sa.update(members.Organisation).where(members.Organisation.corporate_number == member_number)
               .values(status="approved", decided_at=_jst(2025, 4, 1, 9)))
    before = _jst(2025, 5, 1, 9)
    june_rows = [ev.register_public(db, june.id, _who(n, number), source_ip="", now=before)
                 for n, number in ((1, member_number), (2, newcomer), (3, ""), (4, ""))]  # the 4th waits
    ev.record_attendance(db, OPERATOR, june.id, {june_rows[0].id, june_rows[1].id}, today=dt.date(2025, 6, 10))
    sept_rows = [ev.register_public(db, september.id, _who(n, number), source_ip="", now=before)
                 for n, number in ((5, ""), (6, newcomer), (7, ""))]
    ev.record_attendance(db, OPERATOR, september.id, {r.id for r in sept_rows}, today=dt.date(2025, 9, 20))
    applied(newcomer, name="新会員株式会社", email="new@example.jp")
    db.execute(sa.update(members.Organisation).where(members.Organisation.corporate_number == newcomer)
               .values(status="approved", decided_at=_jst(2025, 10, 1, 9)))
    ev.register_public(db, october.id, _who(8, newcomer), source_ip="", now=before)
    with pytest.raises(Invalid):  # not before the day
        ev.record_attendance(db, OPERATOR, october.id, set(), today=dt.date(2025, 10, 14))

    assert ev.event_figures(db, OPERATOR, june.id) == ev.Figures(registrations=4, waitlisted=1, attended=2, members=1,
                                                                 non_members=1, new_members=1)
    # the newcomer's first event was June's, so September's counts no new member
    assert ev.event_figures(db, OPERATOR, september.id) == ev.Figures(registrations=3, attended=3, non_members=3)
    year = {row.kind: row for row in ev.year_figures(db, OPERATOR, 2025, now=_jst(2025, 12, 1, 0))}
    seminars = year[ev.EventKind.member_seminar]
    assert (seminars.events_held, seminars.events_target, seminars.attendance_target) == (2, 4, 60)
    assert seminars.figures == ev.Figures(registrations=5, waitlisted=1, attended=2, members=1, non_members=1,
                                          new_members=1)
    open_event = year[ev.EventKind.open_event]
    assert (open_event.events_held, open_event.events_target, open_event.attendance_target) == (1, 1, 200)
    assert open_event.figures.attended == 3
    assert year[ev.EventKind.community_meeting].events_target == 5  # seed 001's default
    # before October's seminar took place, the year had one seminar held
    early = {row.kind: row for row in ev.year_figures(db, OPERATOR, 2025, now=_jst(2025, 7, 1, 0))}
    assert early[ev.EventKind.member_seminar].events_held == 1 and early[ev.EventKind.open_event].events_held == 0


def test_a_corporate_number_with_a_wrong_check_digit_is_refused_naming_the_right_one(db):
    """Issue 59 item 4: a registration gave 13 digits whose check digit is wrong and was taken (201)."""
    event = _event(db, capacity=5)
    with pytest.raises(Invalid) as refused:
        ev.register_public(db, event.id, _who(1, "1000012050002"), source_ip="")
    [why] = refused.value.problems
    assert why["field"] == "corporate_number"
    assert "検査用数字（先頭の1桁）が誤っています" in why["message_ja"] and "7000012050002" in why["message_ja"]
    assert db.scalar(sa.select(sa.func.count()).select_from(ev.EventRegistration)) == 0
    assert ev.register_public(db, event.id, _who(2, "7000012050002"), source_ip="").corporate_number == "7000012050002"
