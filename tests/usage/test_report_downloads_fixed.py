"""The usage downloads on a fixed data set: the CSV byte for byte, and what the chart draws (issue #12:
the report and chart read their figures in a few grouped queries; the content must not change)."""

import datetime as dt

import pytest

from core.codes import with_check_digit
from usage import quota_plans
from usage.models import METRICS
from tests.conftest import sign_in

SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)


INGESTED_AT = dt.datetime(2026, 10, 25, 12, 0, tzinfo=dt.timezone.utc)  # the data set's own "now", not the clock's


def _aggregate(db, code, metric, month, total, peak=None):
    """The month figure ``total`` (a gauge's ``peak``) through ingest, the aggregates' only writer:
    one event, or for a peak two events summing to ``total``."""
    from core.actor import Actor
    from usage import metering

    quantities = [total] if peak is None else [peak, total - peak]
    at = dt.datetime.combine(month.replace(day=15), dt.time(3, 0), tzinfo=dt.timezone.utc)
    events = [{"tenant": code, "metric": metric, "quantity": quantity, "timestamp": (at + dt.timedelta(minutes=n)).isoformat(),
               "event_id": f"fixed-{code}-{metric}-{month:%Y%m}-{n}"} for n, quantity in enumerate(quantities)]
    metering.ingest(db, Actor(issuer="urn:test", subject="metering", name="利用実績送信", roles=frozenset({"metering-client"})),
                    events, now=INGESTED_AT)


@pytest.fixture
def fixed(db, tenant_factory, operator):
    """熊本市 (usage in September and October, a gauge whose peak differs from its total), 八代市
    (October only) and 人吉市 (no usage); one plan limiting api_calls to 1,000 a month."""
    tenant_factory("431001", name_ja="熊本市", population=738_865)
    tenant_factory("432024", name_ja="八代市", population=123_456)
    tenant_factory("432032", name_ja="人吉市", population=30_000)
    quota_plans.change_quota_plan(db, operator, "flat", {"name_ja": "一律", "population_min": 0, "limits": [
        {"metric": "api_calls", "limit": 1000, "enforcement": "hard"}]})
    _aggregate(db, "431001", "api_calls", SEP, 40)
    _aggregate(db, "431001", "api_calls", OCT, 750)
    _aggregate(db, "431001", "storage_bytes", OCT, 8000, peak=5000)  # a gauge's month figure is its peak
    _aggregate(db, "432024", "api_calls", OCT, 200)
    _aggregate(db, "432024", "broker_entities", SEP, 9)  # another month: not in October's report
    db.commit()


def _csv(rows):
    return ("\ufeff" + "".join(",".join(str(value) for value in row) + "\r\n" for row in rows)).encode("utf-8")


def test_the_admin_csv_download_is_exactly_the_report(client, fixed):
    sign_in(client, ["platform-operator"])
    header = ["対象月", "団体コード", "団体名", "人口", "プラン"]
    for metric in METRICS.values():
        header += [metric.label_ja, f"{metric.label_ja} 上限", f"{metric.label_ja} 利用率(%)"]
    no_other_usage = {"broker_entities": [0, "", ""], "user_seats": [0, "", ""], "datasets": [0, "", ""],
                      "api_clients": [0, "", ""]}

    def row(head, api, storage):
        figures = {"api_calls": api, "storage_bytes": storage, **no_other_usage}
        return head + [value for metric in METRICS for value in figures[metric]]

    expected = _csv([
        header,
        row(["2026-10", "431001", "熊本市", 738865, "flat"], [750, 1000, 75], [5000, "", ""]),
        row(["2026-10", "432024", "八代市", 123456, "flat"], [200, 1000, 20], [0, "", ""]),
        row(["2026-10", "432032", "人吉市", 30000, "flat"], [0, 1000, 0], [0, "", ""]),
        row(["2026-10", "", "合計（全団体）", 738865 + 123456 + 30000, ""], [950, "", ""], [5000, "", ""]),
    ])
    response = client.get("/admin/usage/report.csv?month=2026-10")
    assert response.status_code == 200
    assert response.get_data() == expected


def test_the_chart_draws_the_top_ten_and_the_rest_summed(client, db, tenant_factory, monkeypatch):
    """13 tenants: the ten largest over the fiscal year so far, a tie at the tenth place going to the
    smaller code, and the other three summed month by month in one line."""
    from matplotlib.axes import Axes

    from usage.reports import japanese_font

    codes = sorted(with_check_digit(f"43{n:03d}") for n in range(501, 514))
    for code in codes:
        tenant_factory(code, name_ja=f"架空{code}町")
    for index, code in enumerate(codes):
        scale = 4 if index == 2 else index + 1  # codes[2] ties with codes[3]: 440 each
        _aggregate(db, code, "api_calls", SEP, 100 * scale)
        _aggregate(db, code, "api_calls", OCT, 10 * scale)
    db.commit()
    drawn = []
    original = Axes.plot

    def plot(self, x, y, *args, **kwargs):
        drawn.append((kwargs.get("label"), list(y)))
        return original(self, x, y, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", plot)
    sign_in(client, ["platform-operator"])
    response = client.get("/admin/usage/chart.png?metric=api_calls&month=2026-10")
    assert response.status_code == 200 and response.get_data().startswith(b"\x89PNG")

    shown = [codes[i] for i in (12, 11, 10, 9, 8, 7, 6, 5, 4, 2)]
    zeros = [0] * 5  # April to August
    scales = {code: (4 if codes.index(code) == 2 else codes.index(code) + 1) for code in shown}
    assert [label.rsplit(" (", 1)[-1].rstrip(")") for label, _ in drawn[:10]] == shown
    assert [series for _, series in drawn[:10]] == [zeros + [100 * scales[c], 10 * scales[c]] for c in shown]
    others_label, others = drawn[10]
    assert others == zeros + [400 + 200 + 100, 40 + 20 + 10]  # codes[3], codes[1], codes[0]
    assert others_label == ("その他（3団体の合計）" if japanese_font() else "Others (3 tenants summed)")
    assert len(drawn) == 11
