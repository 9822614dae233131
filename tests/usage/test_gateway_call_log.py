"""The gateway's counted calls without a commit per call (issue 36, item 7): each allowed call's event
is durable in the process's call log before the answer, concurrent calls share one flush, a
worker killed while counting loses no call it answered 200 and counts none twice (nor does a folder
killed while folding), folding the same lines again counts them once, and a count that cannot be
made durable refuses the call (503). The folder is a process of its own (``renkei gateway fold``): a
writer lets go of its sealed segments for it, keeps its own unfolded calls in its quota decisions
until they are committed, and folds in its own process only while no folder runs.
docs/gateway.md, "Counting"."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests import renkei_processes

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60


def fold_actor():
    from admin.service.gateway_calls import FOLDER

    return FOLDER


def stored_events(db, prefix: str = "gateway:") -> dict[str, int]:
    """event id -> how many times it is stored (431001's gateway calls)."""
    from usage.models import UsageEvent

    table = UsageEvent.__table__
    db.rollback()  # a fresh snapshot
    rows = db.execute(sa.select(table.c.event_id, sa.func.count()).where(table.c.event_id.startswith(prefix))
                      .group_by(table.c.event_id)).all()
    return {event_id: int(count) for event_id, count in rows}


def month_total(db) -> int:
    from usage.models import UsageAggregate

    table = UsageAggregate.__table__
    db.rollback()
    return int(db.execute(sa.select(sa.func.coalesce(sa.func.sum(table.c.total), 0)).where(
        table.c.tenant_code == "431001", table.c.metric == "api_calls", table.c.granularity == "month")).scalar_one())


def session_factory(app):
    from sqlalchemy.orm import Session

    from admin.extensions import db

    with app.app_context():
        engine = db.engine
    return lambda: Session(bind=engine)


# --- the log itself --------------------------------------------------------------------------------

def test_calls_arriving_during_a_flush_share_the_next_one(tmp_path, monkeypatch):
    """16 callers, the first one's flush held until the other 15 wait: two flushes write all 16 lines."""
    from usage import call_log

    log = call_log.CallLog(tmp_path)
    release, flushes = threading.Event(), []
    real_fdatasync = os.fdatasync

    def held_fdatasync(fd):
        flushes.append(fd)
        if len(flushes) == 1:
            assert release.wait(60)
        real_fdatasync(fd)

    monkeypatch.setattr(call_log.os, "fdatasync", held_fdatasync)
    answered = []

    def call(n):
        assert log.append({"event_id": f"gateway:{n}", "tenant": "431001", "metric": "api_calls", "quantity": 1,
                           "timestamp": "2026-01-01T00:00:00+00:00"})
        answered.append(n)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    deadline = time.monotonic() + 60
    while not flushes:  # the first flush has begun (and is held)
        assert time.monotonic() < deadline
        time.sleep(0.01)  # polls the condition above, with its deadline
    others = [threading.Thread(target=call, args=(n,)) for n in range(1, 16)]
    for thread in others:
        thread.start()
    while len(log._group.lines) < 15:  # all 15 queued behind the held flush
        assert time.monotonic() < deadline
        time.sleep(0.01)  # polls the condition above, with its deadline
    assert answered == []  # nobody is answered before their line is flushed
    release.set()
    for thread in [first, *others]:
        thread.join(60)
    assert sorted(answered) == list(range(16))
    assert len(flushes) == 2
    (segment,) = tmp_path.glob("*.calls")
    assert len(call_log.read_events(segment)) == 16
    assert not log.append({"event_id": "gateway:3", "tenant": "431001", "metric": "api_calls", "quantity": 1,
                           "timestamp": "2026-01-01T00:00:01+00:00"})  # the same request again: not counted
    log.close()


def test_the_spare_after_a_quiet_round_is_small_and_a_burst_past_it_loses_no_call(tmp_path):
    """A rotation after 5 calls makes a spare far smaller than a full segment (less zero-filling
    beside the calls' own flushes); 1,200 calls from 4 threads then outgrow it, and every one of them
    is in the segments, once."""
    from usage import call_log

    log = call_log.CallLog(tmp_path)

    def event(n: int) -> dict:
        return {"event_id": f"gateway:burst-{n}", "tenant": "431001", "metric": "api_calls", "quantity": 1,
                "timestamp": "2026-01-01T00:00:00+00:00"}

    for n in range(5):
        assert log.append(event(n))
    first = {path.name for path in tmp_path.glob("*.calls")}
    log.rotate()
    (spare,) = [path for path in tmp_path.glob("*.calls") if path.name not in first]
    assert spare.stat().st_size * 8 <= call_log.SEGMENT_BYTES  # 5 calls' room doubled, not a megabyte
    threads = [threading.Thread(target=lambda k=k: [log.append(event(n)) for n in range(5 + k, 1205, 4)])
               for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    log.rotate()
    read = [e["event_id"] for path in tmp_path.glob("*.calls") for e in call_log.read_events(path)]
    assert len(list(tmp_path.glob("*.calls"))) >= 3  # the burst went on past the spare, in a new segment
    assert sorted(read) == sorted(f"gateway:burst-{n}" for n in range(1205))
    log.close()


def test_a_segment_folded_twice_counts_once_and_a_repeated_request_id_once(app, db, tenant_factory, tmp_path):
    from usage import call_log, metering

    tenant_factory("431001")
    log = call_log.CallLog(tmp_path / "calls")
    now = dt.datetime.now(dt.timezone.utc)
    for n in range(5):
        assert log.append(metering.gateway_call_event("431001", f"req-{n}", now=now))
    log.rotate()
    (segment,) = log._sealed
    copy = tmp_path / "copy"
    shutil.copy(segment.path, copy)
    folded = log.fold(session_factory(app), fold_actor())
    assert (folded.events, folded.counted) == (5, 5) and not segment.path.exists()
    # the same lines again, as after a crash between the commit and the file's removal: no process holds it
    shutil.copy(copy, tmp_path / "calls" / "replayed.calls")
    # and another process's line for req-1 a second later (nginx asking again for the same request)
    again = metering.gateway_call_event("431001", "req-1", now=now + dt.timedelta(seconds=1))
    (tmp_path / "calls" / "other.calls").write_text(__import__("json").dumps(again) + "\n")
    folded = log.fold(session_factory(app), fold_actor())
    assert (folded.files, folded.events, folded.counted) == (2, 6, 0)
    assert stored_events(db) == {f"gateway:req-{n}": 1 for n in range(5)}
    assert month_total(db) == 5
    log.close()


def dataset_calls(db) -> list[tuple[str, str, int]]:
    from usage.models import UsageDatasetCall

    db.rollback()
    return sorted((row.dataset, row.consumer_code, row.calls)
                  for row in db.execute(sa.select(UsageDatasetCall.dataset, UsageDatasetCall.consumer_code,
                                                  UsageDatasetCall.calls)))


def test_a_segment_left_behind_after_its_commit_adds_its_dataset_use_once(app, db, tenant_factory, tmp_path):
    """A folder stopped between the fold's commit and the file's removal: the next fold finds the same
    segment, and its dataset use (a tenant's counted calls and an organisation's) is not added again."""
    from usage import call_log, dataset_use, metering

    tenant_factory("431001")
    log = call_log.CallLog(tmp_path / "calls")
    now = dt.datetime.now(dt.timezone.utc)
    use = dataset_use.call_use("432024", "shelters", 7)
    for n in range(2):
        assert log.append(metering.gateway_call_event("431001", f"req-{n}", now=now, use=use))
    organisation = dataset_use.call_use("432024", "shelters", 9)
    assert log.append(metering.gateway_use_event("7000012050002", "org-1", organisation, now=now))
    log.rotate()
    (segment,) = log._sealed
    kept = tmp_path / "kept"
    shutil.copy(segment.path, kept)
    assert log.fold(session_factory(app), fold_actor()).counted == 2
    assert dataset_calls(db) == [("shelters", "431001", 2), ("shelters", "7000012050002", 1)]
    shutil.copy(kept, segment.path)  # as if the removal never happened
    folded = log.fold(session_factory(app), fold_actor())
    assert (folded.files, folded.counted) == (1, 0) and not segment.path.exists()
    assert dataset_calls(db) == [("shelters", "431001", 2), ("shelters", "7000012050002", 1)]
    assert stored_events(db) == {"gateway:req-0": 1, "gateway:req-1": 1} and month_total(db) == 2
    log.close()


def test_a_live_processs_segment_is_not_folded_by_another(app, db, tenant_factory, tmp_path):
    from usage import call_log, metering

    tenant_factory("431001")
    writer = call_log.CallLog(tmp_path)  # stands for another process: it holds its segment's lock
    assert writer.append(metering.gateway_call_event("431001", "held"))
    other = call_log.CallLog(tmp_path)
    assert other.fold(session_factory(app), fold_actor()).files == 0
    assert stored_events(db) == {}
    writer.close()  # its lock let go, as when a process ends
    assert other.fold(session_factory(app), fold_actor()).counted == 1
    assert stored_events(db) == {"gateway:held": 1}


def test_a_torn_last_line_is_skipped_and_the_rest_counted(app, db, tenant_factory, tmp_path):
    import json

    from usage import call_log, metering

    tenant_factory("431001")
    whole = json.dumps(metering.gateway_call_event("431001", "whole"))
    (tmp_path / "torn.calls").write_text(whole + "\n" + whole[:20])
    folded = call_log.CallLog(tmp_path).fold(session_factory(app), fold_actor())
    assert (folded.events, folded.counted) == (1, 1)
    assert stored_events(db) == {"gateway:whole": 1}


def test_a_writer_lets_the_folder_process_fold_and_keeps_its_calls_in_its_quota_until_committed(
        app, db, tenant_factory, operator):
    """The folder is another process (here: the folder lock and the folds taken by this test). The
    writer seals and lets go of its segment but folds nothing while a folder runs; its quota decisions
    count its calls before the fold and after it (then read from the database), never twice; with no
    folder left, the writer folds in its own process."""
    from admin.service import gateway_calls
    from usage import call_log, metering, quota_plans

    tenant_factory("431001")
    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_calls", "limit": 3, "enforcement": "hard"},
                                   reason="call log test")
    db.commit()
    calls = gateway_calls.calls(app)
    directory = calls.log.directory
    folder = call_log.hold_folder(directory)
    assert call_log.folder_running(directory)

    def used() -> int:
        return calls.cache.check(db, "431001", "api_calls").used

    def count(request_id: str) -> bool:
        return metering.count_gateway_call(calls.log, fold_actor(), "431001", request_id, quota_cache=calls.cache)

    try:
        assert used() == 0
        assert count("a") and count("b")
        assert used() == 2  # counted at once by this process, nothing in the database yet
        calls.seal()  # a folder runs: sealed and let go, not folded here
        assert not calls.folding_here and stored_events(db) == {}
        assert len([path for path in directory.glob("*.calls") if not _locked(path)]) == 1  # the folder's to take
        assert used() == 2
        folded = call_log.fold_orphans(directory, session_factory(app), fold_actor())  # the folder process's round
        assert folded.counted == 2 and stored_events(db).keys() == {"gateway:a", "gateway:b"}
        calls.seal()  # the writer sees its segment folded
        assert used() == 2  # now read from the database, no longer from its own unfolded counts: not 4, not 0
        assert count("c") and used() == 3
        assert not calls.cache.check(db, "431001", "api_calls").allowed  # the hard limit holds at once
    finally:
        os.close(folder)
    assert not call_log.folder_running(directory)
    calls.seal()  # no folder: this process folds
    assert calls.folding_here and stored_events(db).keys() == {"gateway:a", "gateway:b", "gateway:c"}
    assert used() == 3


# --- a real worker, killed while counting -------------------------------------------------------

class _Directory:
    """Stands for Keycloak when the client is registered."""

    def create_api_client(self, client_id, name, description, claims, optional_scopes=()):
        return "test-secret"

    def set_api_client_enabled(self, client_id, enabled):
        pass


def api_client(db, operator) -> str:
    from tenancy.identity import api_clients

    issued = api_clients.create_api_client(db, operator, _Directory(), "431001", {
        "name": "kill test", "purpose": "kill test", "scopes": ["broker.read"], "allowlist": ["127.0.0.0/8"],
        "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat()})
    db.commit()
    return issued.keycloak_client_id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def renkei_environment(app, folder: Path, var: Path, fold_seconds: float, sync: str = "each") -> dict[str, str]:
    """A renkei process's environment: the test database, ``folder`` as the call log's."""
    from admin.extensions import db

    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
    var.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "RENKEI_ENV": "development", "RENKEI_SECRET_KEY": "kill-test-secret-0123456789abcdef",
            "RENKEI_DATABASE_URL": url, "RENKEI_VAR_DIR": str(var), "RENKEI_REQUEST_LOG": "off",
            "RENKEI_GATEWAY_CALL_LOG_DIR": str(folder), "RENKEI_GATEWAY_FOLD_SECONDS": str(fold_seconds),
            "RENKEI_GATEWAY_CALL_LOG_SYNC": sync,
            "RENKEI_ADMIN_EVENTS_INTERVAL": "0", "RENKEI_KEYCLOAK_URL": f"http://127.0.0.1:{_free_port()}"}


def _tail(log, size: int = 3000) -> str:
    """The end of a child's log, for the failure message (the test's temporary folder may be gone by the
    time someone reads the report)."""
    log.flush()
    data = Path(log.name).read_bytes()
    return f"{log.name}:\n" + data[-size:].decode("utf-8", "replace")


def _end(process: renkei_processes.Child) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


class Folder:
    """``renkei gateway fold``, the folder process, on the test database and a call log folder."""

    def __init__(self, app, folder: Path, var: Path, fold_seconds: float) -> None:
        self.folder = folder
        env = renkei_environment(app, folder, var, fold_seconds)
        self.log = (var / "folder.log").open("wb")
        self.process = renkei_processes.start("tests.renkei_processes:renkei", ["gateway", "fold"], env, self.log.name)

    def wait_ready(self) -> None:
        """Until it holds the folder lock (so a worker started now never folds in its own process)."""
        from usage import call_log

        deadline = time.monotonic() + START_SECONDS
        while not call_log.folder_running(self.folder):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the folder did not start: {_tail(self.log)}")
            time.sleep(0.1)  # polling the condition (the folder holds its lock), with a deadline

    def stop(self) -> None:
        _end(self.process)
        self.log.close()


class Worker:
    """A renkei process (tests/usage/gateway_worker.py) on the test database and a shared call log folder."""

    def __init__(self, app, folder: Path, var: Path, azp: str, fold_seconds: float, sync: str = "each") -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = renkei_environment(app, folder, var, fold_seconds, sync)
        self.token_file = var / "token"
        self.log = (var / "worker.log").open("wb")
        self.process = renkei_processes.start("tests.usage.gateway_worker:main",
                                              [str(self.port), azp, str(self.token_file)], env, self.log.name)

    def wait_ready(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited ({self.process.returncode}): {_tail(self.log)}")
            try:
                if self.token_file.exists() and requests.get(f"{self.url}/healthz", timeout=2).status_code < 500:
                    return self.token_file.read_text()
            except requests.ConnectionError:
                pass
            time.sleep(0.1)  # polling the condition (the worker answers), with a deadline
        raise RuntimeError(f"the worker did not answer in {START_SECONDS} s: {_tail(self.log)}")

    def ask(self, http: requests.Session, token: str, request_id: str) -> requests.Response:
        return http.get(f"{self.url}/api/v1/gateway/auth", timeout=30, headers={
            "Authorization": "Basic dGVzdC1nYXRld2F5OnRlc3Qtc2VjcmV0", "X-Request-ID": request_id,
            "X-Original-Method": "GET", "X-Original-URI": "/v2/entities", "X-Original-Remote-Addr": "127.0.0.1",
            "X-Original-Authorization": f"Bearer {token}"})

    def stop(self) -> None:
        _end(self.process)
        self.log.close()


@pytest.mark.long
@pytest.mark.parametrize("sync", ["each", "interval"])
def test_a_worker_killed_while_counting_loses_no_call_answered_200_and_counts_none_twice(
        app, db, tenant_factory, operator, tmp_path, sync, fork_server):
    """SIGKILL of a real worker while 8 consumers call it, and of the folder process folding its
    calls: with either RENKEI_GATEWAY_CALL_LOG_SYNC (a killed process's writes are the kernel's),
    every call the worker answered 200 is counted once after a new folder on the same folder has
    folded what they left."""
    tenant_factory("431001")
    azp = api_client(db, operator)
    folder = tmp_path / "calls"
    folders = [Folder(app, folder, tmp_path / "folder1", fold_seconds=0.2)]
    workers = []
    try:
        folders[0].wait_ready()
        workers.append(Worker(app, folder, tmp_path / "first", azp, fold_seconds=0.2, sync=sync))
        token = workers[0].wait_ready()
        answered: list[str] = []
        stop = threading.Event()

        def consumer(n: int) -> None:
            http = requests.Session()
            for i in range(100_000):
                if stop.is_set():
                    return
                request_id = f"kill-{n}-{i}-{uuid.uuid4().hex[:8]}"
                try:
                    answer = workers[0].ask(http, token, request_id)
                except requests.RequestException:  # the worker is gone: this call was never answered
                    return
                assert answer.status_code == 200, answer.text
                if answer.json()["counted"]:
                    answered.append(request_id)

        consumers = [threading.Thread(target=consumer, args=(n,)) for n in range(8)]
        for thread in consumers:
            thread.start()
        deadline = time.monotonic() + 120
        while (len(answered) < 400 or not stored_events(db)) and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the condition (calls answered, some folded by the folder), with a deadline
        os.kill(folders[0].process.pid, signal.SIGKILL)  # perhaps in the middle of a fold
        os.kill(workers[0].process.pid, signal.SIGKILL)  # in the middle of counting
        stop.set()
        for thread in consumers:
            thread.join(60)
        workers[0].process.wait(timeout=20)
        folders[0].process.wait(timeout=20)
        assert len(answered) >= 400, f"only {len(answered)} calls answered: see {workers[0].log.name}"
        assert stored_events(db), "the folder process folded nothing while the worker ran"
        worker_log = Path(workers[0].log.name).read_text(errors="replace")
        assert "no folder process runs" not in worker_log  # the worker never folded in its own process

        # a new folder on the same folder folds what the killed processes left, first thing
        folders.append(Folder(app, folder, tmp_path / "folder2", fold_seconds=0.2))
        folders[-1].wait_ready()
        workers.append(Worker(app, folder, tmp_path / "second", azp, fold_seconds=0.2, sync=sync))
        token = workers[1].wait_ready()
        assert workers[1].ask(requests.Session(), token, "after-restart").status_code == 200
        wanted = {f"gateway:{request_id}" for request_id in [*answered, "after-restart"]}
        deadline = time.monotonic() + 120
        while not wanted <= stored_events(db).keys() and time.monotonic() < deadline:
            time.sleep(0.1)  # polling the condition (the fold committed), with a deadline
        stored = stored_events(db)
        assert wanted - stored.keys() == set(), "calls answered 200 were lost"
        assert {event_id for event_id, count in stored.items() if count > 1} == set()
        # the aggregates agree with the events (calls in flight at the kill may count too: never twice)
        assert month_total(db) == len(stored)
        assert not list(folder.glob("*.calls")) or all(  # what is left is the live worker's own, still open
            _locked(path) for path in folder.glob("*.calls"))
    finally:
        for worker in workers:
            worker.stop()
        for process in folders:
            process.stop()


def _locked(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
