"""`renkei service ...` and the service-probe job of `renkei jobs run-due`: probes recorded, components
registered, maintenance scheduled and the month printed against the target."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.calendar import JST
from service.models import MaintenanceWindow, ServiceComponent, ServiceInterval, ServiceProbe


def renkei(app, *args):
    return app.test_cli_runner().invoke(args=["service", *args, "--as", "service-test"])


def test_register_probe_and_read_the_month(app, db, component_server):
    registered = renkei(app, "register", "ブローカー", component_server.url, "--name-en", "Broker")
    assert registered.exit_code == 0, registered.output
    key = registered.output.split("\t")[0]
    probed = renkei(app, "probe", "--only", key)
    assert probed.exit_code == 0, probed.output
    assert f"{key}\tup" in probed.output
    component_server.stop()
    assert f"{key}\tdown" in renkei(app, "probe", "--only", key).output
    db.expire_all()
    component = db.scalar(sa.select(ServiceComponent).where(ServiceComponent.key == key))
    assert [i.state.value for i in db.scalars(sa.select(ServiceInterval).where(ServiceInterval.component_id == component.id)
                                               .order_by(ServiceInterval.id))] == ["up", "down"]
    month = renkei(app, "availability")
    assert month.exit_code == 0 and "target 99.50 %" in month.output
    assert renkei(app, "availability", "--month", "2026-13").exit_code == 2


@pytest.mark.keycloak
def test_the_due_job_probes_the_builtin_components(app, db):
    result = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "service-probe"])
    assert "service-probe" in result.output
    db.expire_all()
    probed = set(db.scalars(sa.select(ServiceComponent.key).join(ServiceProbe, ServiceProbe.component_id == ServiceComponent.id)))
    assert probed == {"renkei", "database", "keycloak", "gateway", "ckan", "dcat"}
    database = db.scalar(sa.select(ServiceInterval).join(ServiceComponent).where(ServiceComponent.key == "database"))
    assert database.state.value == "up"  # the test's own database answers
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "jobs.run", AuditRecord.target_id == "service-probe"))
    assert json.loads(record.after)["status"] == "done"


def test_schedule_maintenance_and_change_the_target(app, db, tenant_factory):
    tenant_factory("431001")
    day = dt.datetime.now(JST).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    refused = renkei(app, "maintenance", "schedule", "--title", "更新", "--start", f"{day}T18:00", "--end", f"{day}T19:00",
                     "--component", "ckan", "--tenant", "431001")
    assert refused.exit_code == 2 and "作業可能時間外" in refused.output
    done = renkei(app, "maintenance", "schedule", "--title", "更新", "--start", f"{day}T10:00", "--end", f"{day}T11:00",
                  "--component", "ckan", "--tenant", "431001")
    assert done.exit_code == 0, done.output
    db.expire_all()
    assert db.scalar(sa.select(MaintenanceWindow.title)) == "更新"
    assert "更新" in renkei(app, "maintenance", "list").output
    changed = renkei(app, "settings", "--target", "99.9", "--hours", "8-18")
    assert changed.exit_code == 0 and "target_basis_points\t9990" in changed.output and "maintenance_end_hour\t18" in changed.output
