"""Planned maintenance announced to the affected municipalities (notices and outbox), shown on the
public status page without sign-in, and excluded from availability (issue 39 Done-when 3)."""

from __future__ import annotations

import datetime as dt

import jsonschema
import pytest
import sqlalchemy as sa

from core.calendar import JST
from core.errors import Invalid
from core.outbox import Notification
from governance.models import Notice, NoticeTenant
from service import maintenance, settings
from service.models import ServiceComponent

NOW = dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.timezone.utc)  # Wednesday 10:00 JST


def jst(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=JST)


def draft(**fields) -> maintenance.WindowDraft:
    values = {"title": "データベースの更新", "starts_at": jst(26, 10), "ends_at": jst(26, 12),
              "component_keys": ["database", "ckan"], "tenant_codes": ["431001"]}
    return maintenance.WindowDraft(**{**values, **fields})


def problems_of(excinfo) -> set[str]:
    return {item["field"] for item in excinfo.value.problems}


def test_a_window_is_announced_to_the_affected_municipality_by_notice_and_mail(db, operator, tenant_factory):
    tenant_factory("431001", contacts=[{"name": "担当 太郎", "email": "kumamoto@example.jp", "role": "admin"}])
    tenant_factory("432024")
    window = maintenance.schedule(db, operator, draft(), settings.current(db), now=NOW)
    db.commit()
    notice = db.get(Notice, window.notice_id)
    assert notice.title == "【計画メンテナンス】データベースの更新"
    assert "2026/11/26 10:00 〜 2026/11/26 12:00" in notice.body and "データベース" in notice.body
    assert list(db.scalars(sa.select(NoticeTenant.tenant_code).where(NoticeTenant.notice_id == notice.id))) == ["431001"]
    mails = list(db.scalars(sa.select(Notification).where(Notification.kind == "notice")))
    assert [(m.tenant_code, m.subject) for m in mails] == [("431001", "【お知らせ】【計画メンテナンス】データベースの更新")]
    assert maintenance.keys_of(db, window) == ["database", "ckan"]


def test_outside_the_permitted_hours_a_reason_is_required(db, operator, tenant_factory):
    tenant_factory("431001")
    current = settings.current(db)
    for starts, ends in ((jst(26, 18), jst(26, 20)), (jst(28, 10), jst(28, 11)), (jst(26, 16), jst(26, 18))):
        with pytest.raises(Invalid) as refused:
            maintenance.schedule(db, operator, draft(starts_at=starts, ends_at=ends), current, now=NOW)
        assert problems_of(refused) == {"outside_hours_reason"}
    window = maintenance.schedule(db, operator, draft(starts_at=jst(28, 22), ends_at=jst(29, 2),
                                                      outside_hours_reason="土曜夜間の計画停電に合わせるため"), current, now=NOW)
    assert "土曜夜間の計画停電に合わせるため" in db.get(Notice, window.notice_id).body


def test_a_window_in_the_past_or_of_an_unknown_component_is_refused(db, operator, tenant_factory):
    tenant_factory("431001")
    with pytest.raises(Invalid) as refused:
        maintenance.schedule(db, operator, draft(starts_at=jst(24, 10), ends_at=jst(24, 11)), settings.current(db), now=NOW)
    assert problems_of(refused) == {"starts_at"}
    with pytest.raises(Invalid) as refused:
        maintenance.schedule(db, operator, draft(component_keys=["nothing"]), settings.current(db), now=NOW)
    assert problems_of(refused) == {"component_keys"}


def test_the_public_status_page_shows_the_window_without_sign_in(app, db, operator, tenant_factory):
    tenant_factory("431001")
    window = maintenance.schedule(db, operator, draft(starts_at=dt.datetime.now(JST) + dt.timedelta(days=1),
                                                      ends_at=dt.datetime.now(JST) + dt.timedelta(days=1, hours=1),
                                                      outside_hours_reason="試験"), settings.current(db))
    db.commit()
    client = app.test_client()
    page = client.get("/status")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "稼働状況" in text and "データベースの更新" in text and "計画メンテナンス" in text
    assert "対応中の障害はありません" in text
    document = client.get("/status.json")
    assert document.status_code == 200 and document.mimetype == "application/json"
    body = document.get_json()
    jsonschema.validate(body, client.get("/status.schema.json").get_json())
    assert [(w["id"], w["components"]) for w in body["maintenance"]] == [(window.id, ["database", "ckan"])]
    assert {c["key"] for c in body["components"]} >= {"renkei", "database", "keycloak", "gateway", "ckan", "dcat"}
    assert all(c["state"] == "unknown" and len(c["days"]) == 90 for c in body["components"])  # nothing probed yet
    english = client.get("/status?lang=en").get_data(as_text=True)
    assert "Service status" in english


def test_a_cancelled_window_is_announced_and_no_longer_excluded(db, operator, tenant_factory):
    tenant_factory("431001")
    window = maintenance.schedule(db, operator, draft(), settings.current(db), now=NOW)
    maintenance.cancel(db, operator, window.id, "作業不要となったため", now=NOW)
    db.commit()
    titles = list(db.scalars(sa.select(Notice.title).order_by(Notice.id)))
    assert titles == ["【計画メンテナンス】データベースの更新", "【中止】計画メンテナンス データベースの更新"]
    database = db.scalar(sa.select(ServiceComponent).where(ServiceComponent.key == "database"))
    assert maintenance.spans_by_component(db, jst(26, 0), jst(27, 0)).get(database.id) is None
