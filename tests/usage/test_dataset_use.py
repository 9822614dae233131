"""Who uses a dataset (issue 37), in the domain: a provider reads its own datasets' use by consumer and
client and no other provider's; the coverage matrix marks the standard datasets no one used in a year;
`renkei check`'s per-dataset sums are not confused by gateway calls naming the dataset their consumer used."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.calendar import JST, current_month, month_start_utc
from core.errors import NotPermitted
from tests.datasets.conftest import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN
from tests.datasets.test_lists import published

NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=JST)
UNIVERSITY = Actor(issuer="urn:test", subject="uni-admin", name="大学 管理者", roles=frozenset({"org-admin"}),
                   tenant_codes=frozenset({"7000012050002"}))


@pytest.fixture
def aed(db, operator, tenant_factory):
    """熊本市's published AED dataset (a standard kind), called by 八代市's client 3 times and by a
    university's client twice in November 2026."""
    from usage import dataset_use

    for code in ("431001", "432024"):
        tenant_factory(code)
    name = published(db, operator).name
    for consumer, client, calls in (("432024", 11, 3), ("7000012050002", 12, 2)):
        dataset_use.record_call(db, "431001", name, consumer, client, NOW, calls)
    db.commit()
    return name


def test_a_provider_reads_its_own_datasets_use_by_consumer_and_no_one_elses(db, operator, aed):
    from usage import dataset_use

    use = dataset_use.dataset_use(db, KUMAMOTO_ADMIN, "431001", dt.date(2026, 11, 1))
    assert use.calls == 5
    assert [(d.name, [(c.consumer_code, c.consumer_name, c.client_id, c.calls) for c in d.consumers])
            for d in use.datasets] == [(aed, [("432024", "八代市", 11, 3), ("7000012050002", "7000012050002", 12, 2)])]
    assert dataset_use.dataset_use(db, KUMAMOTO_ADMIN, "431001", dt.date(2026, 10, 1)).datasets == []  # another month
    assert dataset_use.dataset_use(db, operator, "431001", dt.date(2026, 11, 1)).calls == 5
    for reader in (YATSUSHIRO_ADMIN, UNIVERSITY):  # consumers of the dataset, not its provider
        with pytest.raises(NotPermitted):
            dataset_use.dataset_use(db, reader, "431001", dt.date(2026, 11, 1))
    assert dataset_use.providers_to_show(db, YATSUSHIRO_ADMIN) == [("432024", "八代市")]
    # a member organisation providing datasets reads its own datasets' use
    assert dataset_use.dataset_use(db, UNIVERSITY, "7000012050002", dt.date(2026, 11, 1)).datasets == []
    assert ("431001", "熊本市") in dataset_use.providers_to_show(db, operator)


def test_the_coverage_matrix_marks_a_standard_dataset_no_one_used_in_a_year(db, operator, aed):
    from catalogue import coverage
    from usage import dataset_use

    def unused(today):
        row = next(r for r in coverage.coverage(db, operator, today=today) if r.code == "431001")
        return row.unused

    assert "aed" not in unused(dt.date(2026, 12, 1))  # used in November
    assert "aed" not in unused(dt.date(2027, 10, 31))  # within twelve months
    assert "aed" in unused(dt.date(2027, 11, 1))  # no use since November 2026
    dataset_use.record_call(db, "431001", aed, "432024", 11, dt.datetime(2027, 10, 1, tzinfo=JST))
    db.commit()
    assert "aed" not in unused(dt.date(2027, 11, 1))


def test_a_published_standard_dataset_never_used_shows_so_on_the_matrix_and_in_the_api(client, db, operator,
                                                                                       tenant_factory):
    from tests.conftest import sign_in

    tenant_factory("431001")
    published(db, operator)
    sign_in(client)
    page = client.get("/admin/dataset-coverage/?q=431001").get_data(as_text=True)
    assert "1年間利用なし" in page


def test_gateway_calls_naming_a_dataset_leave_the_per_dataset_sums_check_clean(app, db, operator, aed):
    from usage import dataset_use, metering

    call = metering.gateway_call_event("432024", "req-1", now=month_start_utc(current_month()),
                                       use=dataset_use.call_use("431001", aed, 21))
    assert metering.fold_gateway_calls(db, operator, [call, call]) == 1  # folded twice: counted once
    db.commit()
    used = db.execute(sa.text("SELECT consumer_code, client_id, calls FROM usage_dataset_call "
                              "WHERE dataset = :name AND client_id = 21"), {"name": aed}).all()
    assert [tuple(row) for row in used] == [("432024", 21, 1)]  # the fold added the call's use once
    result = app.test_cli_runner().invoke(args=["check", "--as", "kensa"])
    assert result.exit_code == 0, result.output


def test_a_provider_gives_its_api_a_route_on_the_dataset_form_and_a_taken_route_is_refused_beside_it(
        client, db, tenant_factory):
    from catalogue import operations
    from tests.conftest import sign_in
    from tests.datasets.test_pages import FORM

    tenant_factory("431001")
    tenant_factory("432024")
    route = {"url": "https://broker.example.jp/v2/entities", "format": "API", "route_service": "kumamoto",
             "route_service_path": "/aed", "route_entity_type": "AED"}
    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    form = client.get("/admin/datasets/new").get_data(as_text=True)
    assert "API ゲートウェイでの経路" in form and 'name="route_service"' in form
    saved = client.post("/admin/datasets/new", data={**FORM, **route, "csrf_token": "t"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    import sqlalchemy as sa

    from catalogue.models import Dataset

    dataset = db.scalars(sa.select(Dataset).where(Dataset.provider_code == "431001")).one()
    [dist] = operations.distributions(db, dataset)
    assert (dist.route_service, dist.route_service_path, dist.route_entity_type) == ("kumamoto", "/aed", "AED")

    sign_in(client, ["municipal-admin"], ["432024"], csrf="t")
    taken = client.post("/admin/datasets/new", data={**FORM, **route, "provider_code": "432024", "csrf_token": "t"})
    assert taken.status_code == 422
    assert f"{dataset.name} が使用中の経路です" in taken.get_data(as_text=True)
