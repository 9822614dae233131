"""Ingest's fast check is a cache of the one rule that explains (issue 24, Build 1).

``validate_events`` sends each event through a fast check that builds no message and, when it
does not know, through the check that explains. Hypothesis feeds the same generated batches
(well-formed events, their near misses, repeats and conflicts) both ways: the answers (events
kept, repeats, problems, the parts handed to the sink) must be the same.
"""

import collections
import datetime as dt
import types

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usage import event_checks
from usage.models import METRICS

NOW = dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.timezone.utc)  # fixed: nothing here depends on the clock
KNOWN = frozenset({"431001", "432024"})
# the register as the check sees it: a dataset's name -> its provider (a tenant, or a member organisation)
PROVIDERS = {"kumamoto-aed": "431001", "yatsushiro-toilets": "432024", "org-bus": "1234567890123"}
BOUNDS = event_checks._Bounds.at(NOW, KNOWN, event_checks.DEFAULT_SETTINGS, PROVIDERS.get)

# times around every edge the rule has: the retention cutoff, the tolerated skew, forms kept as
# sent and forms re-written, offsets PostgreSQL refuses, no zone, nonsense, overflow
_instants = st.sampled_from([
    NOW, NOW - dt.timedelta(days=3), BOUNDS.cutoff, BOUNDS.cutoff - dt.timedelta(microseconds=1),
    BOUNDS.latest, BOUNDS.latest + dt.timedelta(seconds=1),
])
_zones = st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=9)), dt.timezone(dt.timedelta(hours=-14, minutes=-30)),
                          dt.timezone(dt.timedelta(hours=15))])
timestamps = st.one_of(
    st.builds(lambda at, zone: at.astimezone(zone).isoformat(), _instants, _zones),
    st.builds(lambda at: at.isoformat().replace("+00:00", "Z"), _instants),
    st.builds(lambda at: at.strftime("%Y%m%dT%H%M%S+0000"), _instants),  # basic format: accepted, re-written
    st.builds(lambda at: at.replace(tzinfo=None).isoformat(), _instants),  # no zone
    st.sampled_from(["0001-01-01T00:00:00+01:00", "yesterday", "", "2026-05-20T03:00:00.1234567Z"]),
    st.integers(), st.none(),
)
event_ids = st.one_of(st.sampled_from(["e-1", "e-2", "e-3", " ", "", "a\x00b", "x" * 128, "x" * 129]), st.text(max_size=6),
                      st.integers(), st.none())
tenants = st.one_of(st.sampled_from(sorted(KNOWN) + ["999999"]), st.integers(min_value=0, max_value=999999), st.none())
metrics = st.one_of(st.sampled_from(list(METRICS) + ["API_CALLS", "bytes"]), st.none())
quantities = st.one_of(st.integers(min_value=-2, max_value=5), st.sampled_from([event_checks.MAX_QUANTITY, event_checks.MAX_QUANTITY + 1]),
                       st.booleans(), st.floats(allow_nan=False), st.text(max_size=2))
# a dataset: its own tenant's, another provider's, unknown, not a name at all, or explicitly none
datasets = st.one_of(st.sampled_from(sorted(PROVIDERS) + ["no-such-dataset", "", "KUMAMOTO-AED"]), st.none(),
                     st.integers(), st.lists(st.integers(), max_size=1))
fields = {"event_id": event_ids, "tenant": tenants, "metric": metrics, "quantity": quantities, "timestamp": timestamps,
          "dataset": datasets}


good = {"event_id": st.sampled_from(["e-1", "e-2", "e-3", "x" * 128]), "tenant": st.sampled_from(sorted(KNOWN)),
        "metric": st.sampled_from(list(METRICS)), "quantity": st.integers(min_value=0, max_value=3),
        "timestamp": st.builds(lambda at, zone: at.astimezone(zone).isoformat(), _instants, _zones)}


def _near_miss(base, changed, dropped):
    """A well-formed event with a field or two changed (to anything, good or bad) or left out."""
    event = {**base, **changed}
    for name in dropped:
        event.pop(name, None)
    return event


def _dicts():
    """Events as sent: mostly well-formed ones and their near misses, now and then anything at all."""
    near = st.builds(_near_miss, st.fixed_dictionaries(good), st.fixed_dictionaries({}, optional=fields),
                     st.lists(st.sampled_from(sorted(fields)), max_size=1) | st.just([]))
    anything = st.fixed_dictionaries({}, optional={**fields, "extra": st.integers()})
    return st.one_of(near, near, near, anything)


raw_events = st.one_of(_dicts(), _dicts(), _dicts(), _dicts().map(types.MappingProxyType),  # a mapping that is not a dict
                       st.none(), st.integers(), st.lists(st.integers(), max_size=2))


def _repeat_some(batch, picks):
    """Sends some events again, as they were (a repeat) or with one field changed (a conflict or another event)."""
    for source, change in picks:
        if batch and isinstance(batch[source % len(batch)], dict):
            again = dict(batch[source % len(batch)])
            if change is not None:
                again[change[0]] = change[1]
            batch.append(again)
    return batch


batches = st.builds(
    _repeat_some, st.lists(raw_events, max_size=12),
    st.lists(st.tuples(st.integers(min_value=0), st.none() | st.tuples(st.sampled_from(sorted(fields)), st.integers(0, 3) | timestamps)),
             max_size=6))


def _run(batch, fast):
    parts = []
    valid, repeated, problems = event_checks.validate_events(batch, KNOWN, now=NOW, sink=parts.append, fast=fast,
                                                             provider_of=PROVIDERS.get)
    return valid, repeated, problems, parts


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_the_fast_check_and_the_explaining_check_answer_every_batch_alike(batch):
    assert _run(batch, fast=True) == _run(batch, fast=False)


@settings(max_examples=400, deadline=None)
@given(raw_events)
def test_whenever_the_fast_check_answers_the_rule_answers_the_same_event_without_a_problem(raw):
    quick = event_checks._usual_event(raw, BOUNDS)
    if quick is not None:
        event, event_id, problems = event_checks._explained_event(raw, "events[0]", BOUNDS)
        assert (event, event_id, problems) == (quick, quick.event_id, [])
        assert [type(value) for value in event] == [type(value) for value in quick]


def test_the_parts_handed_on_are_the_same_both_ways_in_a_batch_longer_than_a_part():
    batch = [{"event_id": f"e-{i}", "tenant": "431001", "metric": "api_calls", "quantity": 1,
              "timestamp": (NOW - dt.timedelta(seconds=i)).isoformat()} for i in range(event_checks.SINK_PART * 2 + 7)]
    batch.insert(600, dict(batch[3]))  # a repeat
    fast, slow = _run(batch, fast=True), _run(batch, fast=False)
    assert fast == slow
    assert [len(part) for part in fast[3]] == [event_checks.SINK_PART, event_checks.SINK_PART, 7] and fast[1] == 1


def _usual(**changed):
    return {"event_id": "u-1", "tenant": "431001", "metric": "api_calls", "quantity": 1, "timestamp": NOW.isoformat(),
            **changed}


def test_a_well_formed_event_naming_its_tenants_own_dataset_takes_the_fast_check():
    event = event_checks._usual_event(_usual(dataset="kumamoto-aed"), BOUNDS)
    assert event is not None and event.dataset == "kumamoto-aed"
    # another provider's dataset, or one the register does not hold: the fast check does not know
    assert event_checks._usual_event(_usual(dataset="yatsushiro-toilets"), BOUNDS) is None
    assert event_checks._usual_event(_usual(dataset="no-such-dataset"), BOUNDS) is None


def test_each_fall_through_is_counted_by_reason_and_logged_once_per_batch(caplog):
    import logging

    before = event_checks.fall_throughs()
    batch = [_usual(event_id="fast"),
             collections.OrderedDict(_usual(event_id="ordered")),  # a dict subclass: accepted by the rule only
             types.MappingProxyType(_usual(event_id="proxy")),  # a mapping that is not a dict: accepted by the rule
             _usual(event_id="bad", quantity=-1)]  # refused by the rule
    with caplog.at_level(logging.INFO, logger="usage.event_checks"):
        _run(batch, fast=True)
    after = event_checks.fall_throughs()
    assert (after["unusual"] - before["unusual"], after["refused"] - before["refused"]) == (2, 1)
    [record] = [r for r in caplog.records if r.name == "usage.event_checks"]
    assert (record.fall_throughs, record.refused, record.unusual) == (3, 1, 2)
    # the explaining check alone (fast=False) hands nothing over: nothing is counted
    _run(batch, fast=False)
    assert event_checks.fall_throughs() == after


_events = st.lists(st.builds(event_checks.ValidEvent, st.sampled_from(["e-1", "e-2", "x" * 128]), st.sampled_from(sorted(KNOWN)),
                             st.sampled_from(list(METRICS)), st.integers(min_value=0, max_value=event_checks.MAX_QUANTITY),
                             st.sampled_from([NOW, BOUNDS.cutoff, BOUNDS.latest]), st.none() | st.sampled_from(sorted(PROVIDERS))),
                   max_size=8)


@settings(max_examples=200, deadline=None)
@given(_events, st.integers(min_value=-9, max_value=9), st.integers(min_value=-9, max_value=9))
def test_a_batch_kept_as_columns_reads_as_the_events_it_was_given(events, start, stop):
    """A batch's events are kept column by column (CheckedEvents), read back by field name: as a whole,
    by position, by slice and column by column they are the events kept, in order."""
    kept = event_checks.CheckedEvents.of(events)
    assert list(kept) == events and len(kept) == len(events) and kept == events
    assert [kept[i] for i in range(len(events))] == events
    assert list(kept[start:stop]) == events[start:stop]
    for name in event_checks.ValidEvent._fields:
        assert getattr(kept, name) == [getattr(event, name) for event in events]


# batches of usual events, each event_id its own, which the fast check of a whole part answers
_distinct_usual = st.lists(
    st.fixed_dictionaries({**good, "event_id": st.text(min_size=1, max_size=4).filter(str.strip)},
                          optional={"dataset": st.none() | st.sampled_from(sorted(PROVIDERS))}),
    unique_by=lambda event: event["event_id"], max_size=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_distinct_usual | batches, min_size=1, max_size=3), st.integers(min_value=1, max_value=4))
def test_parts_checked_whole_and_events_checked_one_by_one_answer_alike_whatever_the_parts_size(pieces, part_size):
    """The fast check of a whole part (_usual_part) and the rule answer alike, also where a part
    holds usual events beside near misses, repeats and events of an earlier part."""
    import pytest

    batch = [event for piece in pieces for event in piece]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(event_checks, "SINK_PART", part_size)
        fast, slow = _run(batch, fast=True), _run(batch, fast=False)
    assert fast == slow
    if not slow[2]:
        assert [len(part) for part in fast[3][:-1]] == [part_size] * (len(fast[3]) - 1)


class _Text(str):
    """A text of a kind JSON never sends: the rule asks a dataset's name to be a plain str."""


def test_the_fast_check_of_a_part_answers_only_a_part_of_usual_new_events():
    usual = [_usual(event_id=f"p-{i}", dataset="kumamoto-aed" if i % 2 else None) for i in range(4)]
    columns = event_checks._usual_part(usual, BOUNDS, {})
    assert columns is not None and list(columns[0]) == ["p-0", "p-1", "p-2", "p-3"]
    assert list(columns[5]) == [None, "kumamoto-aed", None, "kumamoto-aed"]
    near_misses = {
        "a repeat": usual + [dict(usual[0])],
        "an event_id of an earlier part": usual,
        "a mapping that is not a dict": usual[:3] + [collections.OrderedDict(usual[3])],
        "a missing field": usual[:3] + [{k: v for k, v in usual[3].items() if k != "quantity"}],
        "the same dataset name, not a plain text": usual[:3] + [_usual(event_id="p-9", dataset=_Text("kumamoto-aed"))],
        "an unhashable tenant": usual[:3] + [_usual(event_id="p-9", tenant=["431001"])],
        "an instant before the window": usual[:3] + [_usual(event_id="p-9", timestamp=(BOUNDS.cutoff - dt.timedelta(seconds=1)).isoformat())],
        "an instant beyond the skew": usual[:3] + [_usual(event_id="p-9", timestamp=(BOUNDS.latest + dt.timedelta(seconds=1)).isoformat())],
    }
    for why, part in near_misses.items():
        seen = {"p-0": 0} if why == "an event_id of an earlier part" else {}
        assert event_checks._usual_part(part, BOUNDS, seen) is None, why
