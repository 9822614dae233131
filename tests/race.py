"""The one way the tests race operations: real threads released together by a barrier.

Every rule that must hold under concurrency (one common ID per person, an event's places, one
approval of a run, one letter number per letter: tests/test_races.py) is tested through
:func:`race`, on SQLite (the suite's default, a WAL file with one writer at a time) and on
PostgreSQL alike. Each call runs in a thread of its own with its own app context and database
session (as a request has), holds its connection before the barrier so that the calls begin their
work together, and commits when it returns (rolls back when it raises), as the request would. The
outcomes come back in the order of the calls, each with its result or its exception: the test
asserts what a user would notice (how many IDs, who is registered, who waits).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any

# how long a thread may wait at the barrier or the test for a thread: far beyond any outcome's time,
# only so that a lock that never ends fails the test instead of hanging the run
PATIENCE_SECONDS = 180.0


@dataclasses.dataclass(frozen=True)
class Outcome:
    result: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def race(app, calls: Sequence[Callable[[Any], Any]]) -> list[Outcome]:
    """Run each of ``calls`` (given its own session) in a thread of its own, all released at once;
    commit each that returns, roll back each that raises. Their outcomes in the order of ``calls``."""
    from admin.extensions import db

    barrier = threading.Barrier(len(calls), timeout=PATIENCE_SECONDS)
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(index: int, call: Callable[[Any], Any]) -> None:
        with app.app_context():  # its own context: db.session is this thread's session
            session = db.session
            try:
                session.connection()  # the connection in hand: the calls start their work together
                barrier.wait()
                result = call(session)
                session.commit()
                outcomes[index] = Outcome(result=result)
            except BaseException as error:  # noqa: BLE001 - handed to the test
                session.rollback()
                outcomes[index] = Outcome(error=error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(index, call), name=f"race-{index}")
               for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a raced call never ended (a lock never released?)"
    return outcomes  # type: ignore[return-value]


def race_in_waves(app, calls: Sequence[Callable[[Any], Any]], at_once: int) -> list[Outcome]:
    """:func:`race` of ``calls`` ``at_once`` at a time (as a form sent by many people is), in order."""
    outcomes: list[Outcome] = []
    for start in range(0, len(calls), at_once):
        outcomes += race(app, calls[start:start + at_once])
    return outcomes


def errors_of(outcomes: Sequence[Outcome]) -> list[BaseException]:
    return [outcome.error for outcome in outcomes if outcome.error is not None]
