"""The ``datasets`` gauge of each tenant is counted from the register (issue 22), not reported by a client."""

from __future__ import annotations

import pytest

from tests.datasets.conftest import KUMAMOTO_ADMIN, draft


def test_the_due_job_records_each_tenants_datasets_from_the_register(db, operator, sample_catalogue):
    from admin.commands.jobs import run_jobs
    from core.calendar import current_month
    from catalogue import operations
    from usage import quotas

    withdrawn = operations.register(db, KUMAMOTO_ADMIN, draft(standard_kind=None, title_ja="廃止したデータ"))
    operations.move(db, KUMAMOTO_ADMIN, withdrawn.uid, "submit")
    operations.move(db, KUMAMOTO_ADMIN, withdrawn.uid, "withdraw", "廃止")
    operations.register(db, KUMAMOTO_ADMIN, draft(standard_kind=None, title_ja="作成中のデータ"))
    db.commit()
    sample = {"430005": 0, "431001": 0, "432024": 0}
    for dataset in sample_catalogue:
        sample[dataset.provider_code] += 1
    outcome = dict(run_jobs(operator, ["dataset-gauge"]))["dataset-gauge"]
    assert outcome.status == "done"
    month = current_month()
    # 熊本市: its sample datasets and the draft; the withdrawn one is not counted
    assert quotas.current_level(db, "431001", "datasets", month) == sample["431001"] + 1
    assert quotas.current_level(db, "432024", "datasets", month) == sample["432024"]


def test_a_client_cannot_report_the_datasets_gauge(db, operator, providers):
    from usage import metering

    events = [{"tenant": "431001", "metric": "api_calls", "quantity": 3, "timestamp": "2026-11-01T00:00:00Z",
               "event_id": "ok-1"},
              {"tenant": "431001", "metric": "datasets", "quantity": 999, "timestamp": "2026-11-01T00:00:00Z",
               "event_id": "bad-1"}]
    with pytest.raises(metering.UsageRejected) as refused:
        metering.ingest(db, operator, events, source="api")
    assert [p["field"] for p in refused.value.problems] == ["events[1].metric"]
    assert "データセット台帳" in refused.value.problems[0]["message_ja"]
