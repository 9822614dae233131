"""The quota cache under concurrent checks: an expired entry is reloaded once, not once per thread."""

import datetime as dt
import threading
import time

from core.calendar import current_month
from tenancy.registry.models import TenantStatus
from usage import quotas


def test_an_expired_entry_is_reloaded_once_while_many_threads_ask_for_it():
    clock = [1000.0]
    cache = quotas.QuotaCache(max_age_seconds=5, clock=lambda: clock[0])
    loads = []
    all_waiting = threading.Barrier(8)

    def slow_load(session, tenant_code, metric, month, now):  # a reload that takes a while, as a database does
        loads.append(tenant_code)
        time.sleep(0.2)  # a reload that takes a while, so that the eight callers meet
        entry = quotas._Entry(status=TenantStatus.active, limit=None, used=len(loads), month=month,
                              loaded_at=clock[0], as_of=now)
        with cache._lock:
            cache._entries[(tenant_code, metric)] = entry
        return entry

    cache._load = slow_load
    now = dt.datetime.now(dt.timezone.utc)
    cache.check(None, "431001", "api_calls", now=now)
    assert len(loads) == 1
    clock[0] += 6  # the entry is now older than its 5 seconds
    decisions = []

    def ask():
        all_waiting.wait()
        decisions.append(cache.check(None, "431001", "api_calls", now=now))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(loads) == 2  # one reload for the eight threads
    assert [d.used for d in decisions] == [2] * 8  # every thread answered from the reloaded entry
    assert all(d.period == current_month(now) for d in decisions)


def test_a_clear_during_a_reload_is_not_undone_by_it():
    cache = quotas.QuotaCache(max_age_seconds=5, clock=lambda: 1000.0)
    cleared = []

    class Session:
        pass

    def fake_tenant(session, code):
        cache.clear()  # a limit change committed while the reload reads
        cleared.append(code)
        return type("T", (), {"status": "active", "code": code, "population": 1000, "user_seat_limit": None})()

    original = (quotas._tenant, quotas.effective_limits, quotas.current_level)
    try:
        quotas._tenant = fake_tenant
        quotas.effective_limits = lambda session, tenant: {}
        quotas.current_level = lambda session, code, metric, month: 7
        decision = cache.check(Session(), "431001", "api_calls")
    finally:
        quotas._tenant, quotas.effective_limits, quotas.current_level = original
    assert decision.used == 7 and cleared == ["431001"]
    assert cache._entries == {}  # loaded before the clear: used for this answer, not kept
