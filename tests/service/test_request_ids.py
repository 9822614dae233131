"""One request id through the logs (issue 39 item 6): a request's log records carry its id, a job run
has an id of its own (its audit record and its log lines), and each Keycloak call's log line carries
the id of the request or run that made it."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa
from flask import g

from core import request_context
from core.audit import AuditRecord


def test_a_requests_log_records_carry_its_request_id(app, caplog):
    caplog.set_level(logging.INFO, logger="renkei.test")
    with app.test_request_context("/admin/", headers={"X-Request-ID": "trace-me-0001"}):
        app.preprocess_request()
        logging.getLogger("renkei.test").info("inside the request")
        assert g.request_id == "trace-me-0001"
    logging.getLogger("renkei.test").info("after it")
    inside, after = caplog.records
    assert inside.request_id == "trace-me-0001" and after.request_id == "-"
    formatted = logging.Formatter(request_context.LOG_FORMAT).format(inside)
    assert "[trace-me-0001] inside the request" in formatted


def test_each_job_run_has_its_own_request_id_in_its_audit_record_and_logs(app, db, monkeypatch, caplog):
    from admin.commands import jobs
    from core.actor import console_actor

    def noisy(actor):
        logging.getLogger("renkei.test").warning("job working as %s", actor.request_id)
        return jobs.Outcome("done", "完了", "done")

    monkeypatch.setattr(jobs, "JOBS", [("noisy-a", noisy), ("noisy-b", noisy)])
    caplog.set_level(logging.WARNING, logger="renkei.test")
    jobs.run_jobs(console_actor("tanaka", ["platform-operator"]), ["noisy-a", "noisy-b"])
    ids = [record.request_id for record in caplog.records]
    assert len(set(ids)) == 2 and all(value.startswith("job-") for value in ids)
    assert [record.getMessage() for record in caplog.records] == [f"job working as {value}" for value in ids]
    audited = db.execute(sa.select(AuditRecord.target_id, AuditRecord.request_id)
                         .where(AuditRecord.action == "jobs.run").order_by(AuditRecord.id)).all()
    assert [tuple(row) for row in audited] == [("noisy-a", ids[0]), ("noisy-b", ids[1])]


@pytest.mark.keycloak
def test_a_keycloak_calls_log_line_carries_the_request_id(directory, caplog):
    caplog.set_level(logging.DEBUG, logger="renkei.keycloak")
    with request_context.bound("req-keycloak-0001"):
        directory.sibling().find_user("nobody-of-this-test")
    # this thread's calls: an admin-events reader of an app made by an earlier test of this process reads
    # Keycloak from its own thread meanwhile, under no request
    calls = [record for record in caplog.records
             if record.name == "renkei.keycloak" and record.thread == threading.get_ident()]
    assert calls and all(record.request_id == "req-keycloak-0001" for record in calls)
    assert any("/users" in record.getMessage() for record in calls)
