"""Every rule that must hold under concurrency, raced with real threads released together
(tests/race.py), on SQLite and on PostgreSQL alike (issue 49 item 3, issue 50 item 3, issue 58 item 7).

The rules and the lock each takes (:func:`core.db.lock_key`, before its first read):

* one common ID per person: simultaneous enrolments of one new person at the desk give one common ID,
  the others wait in the review queue (the person's match key: municipality and keyed 基本4情報 hash, under
  every key of the ring, so that enrolments during a key rotation queue up too);
* an event's capacity: registrations beyond the places go on the waiting list, and a cancellation
  promotes the first waiting (the event);
* one approval of a run: two finance officers approving at once post it once (the run);
* one number per letter: letters issued at once never share a number (the fiscal year's numbering);
* one registration per address and event: the same address sent three times at once registers once (the event);
* a person's first sign-ins at once: one enrolment, the others find it (the person's match key);
* one number per council resolution in a fiscal year (the year's numbering);
* one number per version of an agreement document (the document's numbering);
* one number per consent text version of a service, and one status move of a service at a time (the service);
* one ledger account per code: postings at once that need the same new account create it once (the chart);
* one move of a competition call at a time: closes at once close it once (the call);
* an adviser's slot and hours of the month: two bookings of one slot at once book it once, and bookings at once
  that together pass the adviser's hours of the month book only what fits (the adviser).
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from core.audit import AuditRecord
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.race import errors_of, race, race_in_waves
from tests.residents.conftest import keys  # noqa: F401  (the fixture)


# --- one common ID per person ---------------------------------------------------------------------

def test_eight_simultaneous_enrolments_of_one_new_person_give_one_common_id(app, db, consent_setup, keys):
    from residents import operations as residents
    from residents.models import Resident, ResidentReview, ResidentStatus
    from tests.residents.conftest import desk, person

    outcomes = race(app, [lambda session: residents.enrol(session, desk(), keys, person()).resident.id] * 8)
    assert errors_of(outcomes) == []
    db.expire_all()
    people = list(db.scalars(sa.select(Resident).order_by(Resident.id)))
    assert len(people) == 8
    ids = [p.common_id for p in people if p.common_id]
    assert len(ids) == 1, f"{len(ids)} common IDs were issued to one person"
    issued = next(p for p in people if p.common_id)
    assert issued.status is ResidentStatus.active
    assert {p.status for p in people if p is not issued} == {ResidentStatus.review}
    # each of the other seven waits for the desk, matched with the one person who has the ID
    reviews = list(db.scalars(sa.select(ResidentReview)))
    assert sorted(r.candidate_id for r in reviews) == sorted(p.id for p in people if p is not issued)
    assert {r.matched_id for r in reviews} == {issued.id}


def test_enrolments_of_one_person_at_once_during_a_key_rotation_give_one_common_id(app, db, consent_setup, keys):
    """During a rotation's window (every app started with the new key first and the old one after it, before
    `rotate-key`: docs/residents.md) enrolments of one new person at once hold the person under every key's match
    key: they queue up, and one common ID is issued. (An app still on the old key alone, mid-restart, cannot find
    a person the new key sealed: the documented order restarts every app first.)"""
    from residents import operations as residents
    from residents.crypto import new_key_entry, parse_keys
    from residents.models import Resident
    from tests.residents.conftest import desk, person
    from tests.residents.test_key_rotation import entry

    rotating = parse_keys(f"{new_key_entry('k2')},{entry(keys)}")
    enrolments = [lambda session, ring=ring: residents.enrol(session, desk(), ring, person()).resident.id
                  for ring in (rotating,) * 8]
    outcomes = race(app, enrolments)
    assert errors_of(outcomes) == []
    db.expire_all()
    ids = [p.common_id for p in db.scalars(sa.select(Resident)) if p.common_id]
    assert len(ids) == 1, f"{len(ids)} common IDs were issued to one person"


# --- an event's places ----------------------------------------------------------------------------

def test_thirty_five_registrations_for_thirty_places_register_thirty_and_a_cancellation_promotes_the_first_waiting(
        app, db):
    from secretariat import events as ev
    from tests.secretariat.test_events import OPERATOR, _event, _who

    event = _event(db, capacity=30)
    db.commit()
    event_id = event.id
    calls = [lambda session, n=n: ev.register_public(session, event_id, _who(n), source_ip="").id for n in range(35)]
    outcomes = race_in_waves(app, calls, at_once=8)
    assert errors_of(outcomes) == []
    db.expire_all()

    def statuses():
        rows = db.scalars(sa.select(ev.EventRegistration).where(ev.EventRegistration.event_id == event_id)
                          .order_by(ev.EventRegistration.id))
        return [(row.id, row.status) for row in rows]

    registered = [rid for rid, status in statuses() if status is ev.R.registered]
    waiting = [rid for rid, status in statuses() if status is ev.R.waitlisted]
    assert (len(registered), len(waiting)) == (30, 5)
    # the waiting list holds the last five who registered
    assert waiting == sorted(o.result for o in outcomes)[-5:]

    cancelled, promoted = ev.cancel(db, OPERATOR, registered[0])
    db.commit()
    assert promoted is not None and promoted.id == waiting[0]
    assert [rid for rid, status in statuses() if status is ev.R.registered] == registered[1:] + [waiting[0]]


def test_five_cancellations_at_once_promote_the_five_waiting_each_once(app, db):
    from core.outbox import Notification
    from secretariat import events as ev
    from tests.secretariat.test_events import OPERATOR, _event, _who

    event = _event(db, capacity=5)
    rows = [ev.register_public(db, event.id, _who(n), source_ip="") for n in range(10)]
    db.commit()
    ids = [row.id for row in rows]
    outcomes = race(app, [lambda session, rid=rid: ev.cancel(session, OPERATOR, rid)[1].id for rid in ids[:5]])
    assert errors_of(outcomes) == []
    assert sorted(o.result for o in outcomes) == ids[5:]
    db.expire_all()
    assert [db.get(ev.EventRegistration, rid).status for rid in ids] == [ev.R.cancelled] * 5 + [ev.R.registered] * 5
    promoted = db.scalars(sa.select(Notification.recipients).where(Notification.kind == "event.promoted"))
    assert sorted(promoted) == sorted(f"p{n}@example.jp" for n in range(5, 10))  # one message each


# --- one approval of a run ------------------------------------------------------------------------

def test_a_run_approved_by_two_finance_officers_at_once_is_approved_and_posted_once(app, db, tenant_factory):
    from billing import allocation_runs
    from billing.models import JournalEntry, RunStatus
    from tests.billing.conftest import colleague, make_reviewed_run
    from core.actor import Actor

    finance = Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))
    run_id = make_reviewed_run(db, tenant_factory, finance).id
    outcomes = race(app, [lambda session, n=n: allocation_runs.approve_run(session, colleague(n), run_id).status
                          for n in (3, 4)])
    assert errors_of(outcomes) == []
    assert [RunStatus(o.result) for o in outcomes] == [RunStatus.approved] * 2
    db.expire_all()
    approvals = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.run.approve",
                                                             AuditRecord.target_id == str(run_id))))
    assert len(approvals) == 1
    posted = set(json.loads(approvals[0].after)["entries"])
    in_ledger = set(db.scalars(sa.select(JournalEntry.id).where(JournalEntry.idempotency_key.like(f"run:{run_id}:%"))))
    assert posted and in_ledger == posted


# --- one number per letter ------------------------------------------------------------------------

def test_letters_issued_at_once_never_share_a_number(app, db, operator, tenant_factory):
    from billing.models import EstimateLetter
    from service.incidents import operations
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS
    from tests.service.test_incidents import opened

    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    tenant_factory("431001")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    db.commit()
    incidents = [opened(db, operator, title=f"障害 {n}").id for n in range(6)]
    issued_on = dt.date(2026, 11, 2)
    outcomes = race(app, [lambda session, incident_id=incident_id: operations.send_first_report(
        session, operator, incident_id, issued_on=issued_on).number for incident_id in incidents])
    assert errors_of(outcomes) == []
    assert sorted(o.result for o in outcomes) == sorted(f"デ戦第{n}号" for n in range(1, 7))
    # and the next letter of any kind takes the next number (the billing letters count the reports)
    from billing import documents

    assert next(documents.next_sequences(db, 2026)) == 7
    assert db.scalar(sa.select(sa.func.count()).select_from(EstimateLetter)) == 0


# --- one registration per address and event -------------------------------------------------------

def test_one_address_sent_three_times_at_once_registers_once(app, db):
    from core.errors import Conflict
    from secretariat import events as ev
    from tests.secretariat.test_events import _event, _who

    event = _event(db, capacity=30)
    db.commit()
    event_id = event.id
    outcomes = race(app, [lambda session: ev.register_public(session, event_id, _who(1), source_ip="").id] * 3)
    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(error, Conflict) for error in errors_of(outcomes))
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(ev.EventRegistration)) == 1


# --- a person's first sign-ins at once --------------------------------------------------------------

def test_four_first_sign_ins_of_one_person_at_once_enrol_them_once(app, db, consent_setup, keys):
    from core.actor import Actor
    from residents import operations as residents
    from residents.models import Resident, ResidentReview
    from tests.residents.conftest import person

    resident = Actor(issuer="urn:test:jpki", subject="jpki-subject-0001", name="髙橋 太郎")
    payload = person(issuer="urn:test:jpki", subject="jpki-subject-0001")
    outcomes = race(app, [lambda session: residents.sign_in_person(session, resident, keys, payload).how] * 4)
    assert errors_of(outcomes) == []
    assert sorted(o.result for o in outcomes) == ["enrolled", "known", "known", "known"]
    db.expire_all()
    people = list(db.scalars(sa.select(Resident)))
    assert len(people) == 1 and people[0].common_id
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentReview)) == 0


# --- numbers of council resolutions, agreement versions and consent texts -----------------------------

def test_proposals_closed_at_once_take_consecutive_resolution_numbers(app, db, operator, tenant_factory):
    from governance import council
    from governance.schemas import ProposalCreate

    tenant_factory("431001")
    closes_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    proposals = [council.propose(db, operator, ProposalCreate(title=f"議案 {n}", closes_at=closes_at)).id
                 for n in range(4)]
    db.commit()
    after_the_window = closes_at + dt.timedelta(days=1)
    outcomes = race(app, [lambda session, pid=pid: council.close_proposal(session, operator, pid, now=after_the_window)
                          .number for pid in proposals])
    assert errors_of(outcomes) == []
    assert sorted(o.result for o in outcomes) == [1, 2, 3, 4]


def test_versions_drafted_at_once_take_consecutive_numbers(app, db, operator):
    from governance import agreements
    from governance.models import AgreementDocument
    from governance.schemas import VersionDraft

    document = AgreementDocument.joint_use_agreement
    drafts = [VersionDraft(title=f"共同利用協定 {n}", body_md=f"第1条 目的 {n}", effective_on=dt.date(2026, 4, 1))
              for n in range(4)]
    outcomes = race(app, [lambda session, draft=draft: agreements.draft_version(session, operator, document, draft).number
                          for draft in drafts])
    assert errors_of(outcomes) == []
    assert sorted(o.result for o in outcomes) == [1, 2, 3, 4]


def test_consent_texts_revised_at_once_take_consecutive_numbers_each_after_the_one_before(app, db, consent_setup):
    from residents.consent import operations as consent
    from tests.consent.conftest import KUMAMOTO, admin_of

    service_id = consent_setup().id
    texts = [{"title": f"第{n}版", "body_ja": f"利用目的を改めます（{n}）。", "purposes": ["子育て支援サービスの案内"],
              "items": {"生年月日": {}}} for n in range(2, 6)]
    outcomes = race(app, [lambda session, text=text: consent.revise_text(session, admin_of(KUMAMOTO), service_id, text).number
                          for text in texts])
    assert errors_of(outcomes) == []
    assert sorted(o.result for o in outcomes) == [2, 3, 4, 5]
    db.expire_all()
    revisions = [json.loads(r.before)["text_id"] for r in db.scalars(
        sa.select(AuditRecord).where(AuditRecord.action == "consent.text.revise").order_by(AuditRecord.seq))]
    assert len(set(revisions)) == 4  # each revision replaced the text the one before it made


def test_a_service_approved_four_times_at_once_is_approved_once(app, db, consent_setup, operator):
    from core.lifecycle import IllegalMove
    from residents.consent import operations as consent
    from residents.consent.models import ServiceStatus

    service_id = consent_setup(approve=False).id
    outcomes = race(app, [lambda session: consent.move_service(session, operator, service_id, "approve").status] * 4)
    assert [o.result for o in outcomes if o.ok] == [ServiceStatus.approved]
    assert [type(error) for error in errors_of(outcomes)] == [IllegalMove] * 3
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "consent.service.approve")) == 1


# --- one ledger account per code --------------------------------------------------------------------

def test_postings_at_once_that_need_the_same_new_account_create_it_once(app, db, tenant_factory):
    from billing import ledger
    from billing.models import Account
    from tests.billing.test_ledger import charge

    tenant_factory("431001")
    outcomes = race(app, [lambda session, n=n: ledger.post_entries(session, [charge(f"c-{n}", "431001", 1000 + n)])
                          for n in range(4)])
    assert errors_of(outcomes) == []
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Account).where(
        Account.code == ledger.receivable("431001"))) == 1
    assert ledger.raw_balance(db, ledger.receivable("431001")) == 4000 + 0 + 1 + 2 + 3


# --- one move of a competition call at a time -------------------------------------------------------

def test_a_call_closed_four_times_at_once_is_closed_once(app, db, operator):
    from competition import operations as comp, review
    from competition.models import Call, CallStatus
    from core.lifecycle import IllegalMove

    call = comp.create_call(db, operator, 2025)
    comp.publish_call(db, operator, call.id)
    db.commit()
    call_id = call.id
    outcomes = race(app, [lambda session: review.close_without_selection(session, operator, call_id,
                                                                         "応募がなかったため").id] * 4)
    assert len([o for o in outcomes if o.ok]) == 1
    assert [type(error) for error in errors_of(outcomes)] == [IllegalMove] * 3
    db.expire_all()
    assert db.get(Call, call_id).status is CallStatus.closed
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "competition.call.move")) == 1


# --- an adviser's slot and hours of the month -----------------------------------------------------

def _adviser_and_member(db, monthly_hours: int) -> int:
    from secretariat import advisers as adv
    from tests.conftest import OPERATOR
    from tests.secretariat.test_advisers import OURS, _member

    _member(db, OURS)
    adviser = adv.create_adviser(db, OPERATOR, adv.AdviserDraft(name="山田 太郎", fields="データ連携",
                                                                monthly_hours=monthly_hours))
    db.commit()
    return adviser.id


def _booking(adviser_id: int, day: int, hours: int):
    from core.calendar import JST
    from secretariat import advisers as adv
    from tests.secretariat.test_advisers import OURS, OUR_ADMIN

    booking = adv.Booking(adviser_id, OURS, dt.datetime(2026, 6, day, 10, tzinfo=JST), hours, f"相談 {day}")
    return lambda session: adv.book(session, OUR_ADMIN, booking).id


def test_one_advisers_slot_booked_twice_at_once_is_booked_once(app, db):
    from secretariat import advisers as adv

    adviser_id = _adviser_and_member(db, monthly_hours=10)
    outcomes = race(app, [_booking(adviser_id, day=10, hours=2)] * 2)
    assert len([o for o in outcomes if o.ok]) == 1
    assert [type(error) for error in errors_of(outcomes)] == [adv.SlotTaken]
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(adv.Consultation)) == 1


def test_bookings_at_once_past_the_advisers_hours_of_the_month_book_only_what_fits(app, db):
    from secretariat import advisers as adv

    adviser_id = _adviser_and_member(db, monthly_hours=3)
    outcomes = race(app, [_booking(adviser_id, day=day, hours=2) for day in (10, 11)])  # 2 + 2 of 3 hours
    assert len([o for o in outcomes if o.ok]) == 1
    [refused] = errors_of(outcomes)
    assert isinstance(refused, adv.AdviserHoursExceeded) and "残り時間は 3 時間中 1 時間" in refused.message_ja
    db.expire_all()
    assert adv.booked_hours(db, adviser_id, dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)) == 2
