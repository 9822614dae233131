"""The contract tests' cases drawn ahead of the tests: ``python -m tests.contract_draw DIRECTORY [NAME ...]``.

Drawing a shard's requests (Hypothesis through Schemathesis) is CPU the tests would otherwise spend while the
machine is busiest: about 180 s of the SQLite pass's shards and 15 s of its CKAN test. CI (.ci/run) draws them here
while apt is still installing (the CPU mostly idle) into ``RENKEI_TEST_CONTRACT_CASES``, and both passes then replay
them (tests/contract_cases.py). NAME is ``shard-N`` or ``ckan`` (the store's file names; all of them by default).

The app is the tests' own (tests/conftest.py session_app, on a throwaway SQLite file: the documents need no
database, no Keycloak) under the contract tests' settings, and every decision that enters a file's fingerprint (the
document, each shard's entries, the seed, the examples) comes from the very functions the tests call
(tests/admin/test_api_contract.py: contract_schema, shard_cases, ckan_cases). A file whose fingerprint the test does
not compute is not replayed: the test then draws its cases itself, as without this step.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.contract_cases import CaseStore


def _ignore(_case) -> None:
    """The drawing ahead sends nothing: the cases are only recorded."""


@contextlib.contextmanager
def drawing_app():
    """The tests' app (tests/conftest.py session_app) under the contract tests' settings, on a SQLite file that is
    never opened (the documents need no rows), removed afterwards."""
    from tests.admin.test_api_contract import CONTRACT_CONFIG
    from tests.conftest import session_app

    with tempfile.TemporaryDirectory(prefix="renkei-contract-draw-") as var:
        app = session_app(Path(var), f"sqlite:///{Path(var) / 'draw.db'}")
        app.config.update(CONTRACT_CONFIG)
        yield app


def stores(app, names: list[str], directory: str | Path | None = None) -> Iterator[tuple[str, list, CaseStore]]:
    """Each store named (``shard-N``, ``ckan``): its name, what its test sends ((key, operation, examples) each, in
    order) and its store in ``directory``, from the functions the tests call."""
    from tests.admin import test_api_contract as contract

    schema = None
    for name in names:
        if name == "ckan":
            _, draws, store = contract.ckan_cases(app, directory)
        else:
            schema = schema or contract.contract_schema(app)
            draws, store = contract.shard_cases(schema, int(name.removeprefix("shard-")), directory)
        yield name, draws, store


def draw(directory: str | Path, names: list[str]) -> Iterator[tuple[str, str]]:
    """Record the cases of each store named in ``directory``: each name and what became of it, when it is done."""
    with drawing_app() as app:
        began = time.process_time()
        for name, draws, store in stores(app, names, directory):
            if store.replaying:
                yield name, f"recorded already ({store.path})"
                continue
            for key, operation, examples in draws:
                store.send(operation, key, examples, _ignore)
            store.save()
            yield name, (f"{sum(map(len, store.recorded.values()))} cases drawn, recorded to {store.path} "
                         f"({time.process_time() - began:.1f} s of CPU)")
            began = time.process_time()


def names_of(given: list[str]) -> list[str]:
    """The stores named (all of them when none is), each checked."""
    from tests.admin.test_api_contract import SHARDS

    known = [f"shard-{shard}" for shard in range(SHARDS)] + ["ckan"]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise SystemExit(f"not a store of the contract tests: {', '.join(unknown)} (choose from {', '.join(known)})")
    return given or known


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.contract_draw", description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="where the cases are written (CI: RENKEI_TEST_CONTRACT_CASES)")
    parser.add_argument("names", nargs="*", help="shard-0 ... shard-3, ckan (default: all)")
    arguments = parser.parse_args(argv)
    names = names_of(arguments.names)
    began, cpu = time.monotonic(), time.process_time()
    for name, said in draw(arguments.directory, names):
        print(f"{name}: {said}", flush=True)
    print(f"{' '.join(names)}: drawn ahead in {time.monotonic() - began:.0f} s "
          f"({time.process_time() - cpu:.0f} s of CPU, the app's start included)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
