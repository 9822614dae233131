"""Guessing a service's link code is limited (issue 42 item 2): after 5 wrong codes by one resident within 15
minutes every code is refused, the right one too, beside the field with what was typed kept, in Japanese and
English; the lock is audited once; after the window the right code links; another resident is not affected,
and a right code within the limit resets nothing."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from core.audit import AuditRecord
from residents import operations as residents, portal
from residents.models import ServiceLink
from tests.residents.conftest import desk, person
from tests.residents.test_portal_services import _code, _csrf, _link, _resident_session, _service_actor, city  # noqa: F401

WRONG = ["ACDE-FGHJ", "KMNP-QRTU", "VWXY-3467", "CCCC-DDDD", "EEEE-FFFF"]


def _locks(db) -> list[AuditRecord]:
    return list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.link_code.locked")))


def _links(db, resident_id: int) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(ServiceLink).where(ServiceLink.resident_id == resident_id))


def test_five_wrong_codes_refuse_the_right_one_beside_the_field_with_what_was_typed(client, db, city):
    right = _code(db, city["navi"], "navi-user-0101")
    _resident_session(client, city["resident"].id)
    for wrong in WRONG:
        answer = _link(client, city["navi"].id, wrong)
        assert answer.status_code == 422 and "コードが正しくないか" in answer.get_data(as_text=True)
    assert len(_locks(db)) == 1

    refused = _link(client, city["navi"].id, right)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="code-error"' in page and f'value="{right}"' in page
    assert "5回入力されたため" in page and "正しいコードも" in page
    english = client.post("/portal/services/link?lang=en", data={"csrf_token": _csrf(client),
                                                                 "service_id": str(city["navi"].id), "code": right})
    assert english.status_code == 422 and "not even the right one" in english.get_data(as_text=True)
    assert _links(db, city["resident"].id) == 0

    # refusals while locked neither record again nor lengthen the lock
    locks = _locks(db)
    assert len(locks) == 1 and locks[0].target_id == city["resident"].common_id
    after = json.loads(locks[0].after)
    assert after["wrong_codes"] == 5 and not {right, *WRONG} & set(map(str, after.values()))  # never what was typed


def test_after_the_window_the_right_code_links(db, city):
    resident, navi = city["resident"], city["navi"]
    actor = portal.resident_actor(db, resident.id, "mynumber-card")
    start = dt.datetime.now(dt.timezone.utc)
    for minute, wrong in enumerate(WRONG):
        try:
            portal.link_with_code(db, actor, resident, navi.id, wrong, 3, now=start + dt.timedelta(minutes=minute))
        except portal.WrongCode:
            db.commit()
    code = _code(db, navi, "navi-user-0102", issued_at=start + dt.timedelta(minutes=10))
    try:
        portal.link_with_code(db, actor, resident, navi.id, code, 3, now=start + dt.timedelta(minutes=14))
        raise AssertionError("linked while locked")
    except portal.WrongCode:
        raise AssertionError("a locked attempt is refused as locked, not counted as a wrong code")
    except portal.Invalid as locked:
        db.rollback()
        assert "5回" in locked.message_ja
    # 15 minutes after the first wrong code, only four remain within the window
    link = portal.link_with_code(db, actor, resident, navi.id, code, 3, now=start + dt.timedelta(minutes=15, seconds=1))
    db.commit()
    assert link.service_user_id == "navi-user-0102" and _links(db, resident.id) == 1


def test_another_resident_is_not_affected_and_a_right_code_resets_nothing(client, db, keys, city):
    other = residents.enrol(db, desk(), keys, person(full_name="佐藤 花子", birth_date="1990-02-03", sex="2")).resident
    db.commit()
    _resident_session(client, city["resident"].id)
    for wrong in WRONG:
        assert _link(client, city["navi"].id, wrong).status_code == 422
    _resident_session(client, other.id)
    for wrong in WRONG[:4]:
        assert _link(client, city["navi"].id, wrong).status_code == 422
    assert _link(client, city["navi"].id, _code(db, city["navi"], "navi-user-0103")).status_code == 302
    assert _links(db, other.id) == 1
    # four wrong and a right one: the next wrong code is the fifth, and locks
    assert _link(client, city["health"].id, "ACDE-FGHJ").status_code == 422
    refused = _link(client, city["health"].id, _code(db, city["health"], "health-user-0103"))
    assert refused.status_code == 422 and "5回入力されたため" in refused.get_data(as_text=True)
    assert len(_locks(db)) == 2
