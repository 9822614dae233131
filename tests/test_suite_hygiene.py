"""Rules for the suite itself: no clock read when a test module is imported; Keycloak only when marked.

A time computed at import ("ten minutes from now" in a parametrize list, a module constant, a
default argument) grows stale while the run goes on, so the test's outcome depends on how long
the run took to reach it: a loaded machine fails it. Such values are computed in the test or a
fixture instead.
"""

from __future__ import annotations

import ast
import re
import socket
import threading
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CLOCK_NAMES = {"now", "utcnow", "today", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "time_ns"}
CLOCK_WORDS = re.compile(r"(^|_)(now|today|utcnow)(_|$)")  # _now(), today_jst(), now_jst(), ...


def called_name(call: ast.Call) -> str:
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def reads_clock(call: ast.Call, helpers: set[str]) -> bool:
    name = called_name(call)
    if name == "time":  # time.time(), not dt.time(17, 0)
        return not call.args and not call.keywords
    return name in CLOCK_NAMES or bool(CLOCK_WORDS.search(name)) or name in helpers


def run_at_import(tree: ast.AST):
    """The nodes evaluated when the module is imported: everything but the bodies of functions and
    lambdas (their decorators and default values do run) and of ``if __name__ == "__main__":`` (a module run as a
    command, ``python -m tests.contract_draw``), class bodies included."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'":
            todo += node.orelse
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo += node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
            continue
        if isinstance(node, ast.Lambda):
            todo += node.args.defaults + [d for d in node.args.kw_defaults if d]
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def module_name(path: Path, tests: Path) -> str:
    return ".".join(path.relative_to(tests.parent).with_suffix("").parts)


def clock_helpers(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Per module, the names of its functions (its own or imported from another test module) that
    read the clock when called, directly or through another such function.

    Each tree is walked once, for its imports from other modules and, per function (nested ones in their own right
    and in the function around them), whether it reads the clock itself and which names it calls; the names are then
    followed until nothing more is found."""
    imports: dict[str, list[tuple[str, list[tuple[str, str]]]]] = {}
    functions: dict[str, list[tuple[str, bool, set[str]]]] = {}
    for name, tree in trees.items():
        imports[name], functions[name] = [], []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                source = node.module if node.level == 0 else ".".join(name.split(".")[:-node.level] + [node.module])
                imports[name].append((source, [(alias.name, alias.asname or alias.name) for alias in node.names]))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                calls = [inner for inner in ast.walk(node) if isinstance(inner, ast.Call)]
                # a call of ``time`` with arguments is dt.time(17, 0), never a helper (reads_clock)
                functions[name].append((node.name, any(reads_clock(call, set()) for call in calls),
                                        {called_name(call) for call in calls} - {"time"}))
    helpers: dict[str, set[str]] = {name: set() for name in trees}
    changed = True
    while changed:
        changed = False
        for name in trees:
            known = set(helpers[name])
            for source, names in imports[name]:
                known |= {local for original, local in names if original in helpers.get(source, ())}
            for function, itself, called in functions[name]:
                if function not in known and (itself or not called.isdisjoint(known)):
                    known.add(function)
            if known != helpers[name]:
                helpers[name], changed = known, True
    return helpers


def clock_reads_at_import(tests: Path = TESTS) -> list[str]:
    trees = {module_name(path, tests): ast.parse(path.read_text(encoding="utf-8"), str(path))
             for path in sorted(tests.rglob("*.py"))}
    helpers = clock_helpers(trees)
    return [f"tests/{name.removeprefix('tests.').replace('.', '/')}.py:{node.lineno}: {ast.unparse(node)}"
            for name, tree in trees.items() for node in run_at_import(tree)
            if isinstance(node, ast.Call) and reads_clock(node, helpers[name])]


def test_no_test_module_reads_the_clock_when_imported():
    assert clock_reads_at_import() == [], "compute these in the test or a fixture, not at import"


def check_source(tmp_path, source: str) -> list[str]:
    """What the check finds in a test folder holding a module with ``source`` (and a helper module)."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_example.py").write_text(source, encoding="utf-8")
    (tests / "helpers.py").write_text("import datetime as dt\n\ndef stamp():\n    return dt.datetime.now()\n",
                                      encoding="utf-8")
    return [line.split(": ", 1)[1] for line in clock_reads_at_import(tests)]


@pytest.mark.parametrize(("source", "found"), [
    ("import time\nDEADLINE = time.time() + 60\n", ["time.time()"]),
    ("import datetime as dt\nimport pytest\n\n@pytest.mark.parametrize('x', [dt.date.today()])\ndef test(x):\n    pass\n",
     ["dt.date.today()"]),
    ("import datetime as dt\n\ndef test(at=dt.datetime.now()):\n    pass\n", ["dt.datetime.now()"]),
    ("import time\n\nclass TestThing:\n    started = time.monotonic()\n", ["time.monotonic()"]),
    ("import datetime as dt\n\ndef _now():\n    return dt.datetime.now()\n\nLATER = _now()\n", ["_now()"]),
    ("from tests.helpers import stamp\n\nWHEN = [stamp()]\n", ["stamp()"]),
    ("import datetime as dt\n\nCLOSING = dt.time(17, 0)\nFIXED = dt.datetime(2026, 4, 1)\n\n"
     "def test():\n    assert dt.datetime.now() > FIXED\n", []),
    ("import datetime as dt\nimport pytest\n\n@pytest.mark.parametrize('later', [lambda now: now + dt.timedelta(1)])\n"
     "def test(later):\n    later(dt.datetime.now())\n", []),
    ("import time\n\nif __name__ == '__main__':\n    print(time.time())\nelse:\n    LOADED = time.time()\n",
     ["time.time()"]),
])  # fmt: skip
def test_the_check_finds_clock_reads_at_import_and_only_those(tmp_path, source, found):
    assert check_source(tmp_path, source) == found


def test_a_test_not_marked_keycloak_cannot_reach_it(monkeypatch):
    from tests.conftest import KEYCLOAK

    if not KEYCLOAK.may_listen:  # as once a marked test has begun the session's server's start
        monkeypatch.setattr(KEYCLOAK, "_thread", threading.Thread(target=lambda: None))
    host, port = sorted(KEYCLOAK.socket_addresses)[0]
    with pytest.raises(pytest.fail.Exception, match="not marked @pytest.mark.keycloak"):
        socket.create_connection((host, port), timeout=1).close()


def test_a_server_on_the_ports_chosen_for_a_keycloak_never_started_is_not_taken_for_it(monkeypatch):
    """A session that starts no Keycloak (the quick loop) has only chosen free ports for it: a test's own server may
    listen on one of them (a monitored component's stub did), and connecting to it is no connection to Keycloak."""
    from tests.conftest import KEYCLOAK

    with socket.create_server(("127.0.0.1", 0)) as server:
        monkeypatch.setattr(KEYCLOAK, "given_url", None)
        monkeypatch.setattr(KEYCLOAK, "_thread", None)
        monkeypatch.setattr(KEYCLOAK, "socket_addresses", frozenset({server.getsockname()[:2]}))
        socket.create_connection(server.getsockname()[:2], timeout=5).close()


def test_every_sleep_in_a_test_says_why():
    """A test waits on the condition it needs, not for a while (issue 24): a sleep is either the pause
    of a loop that polls a condition with a deadline, or a wait that no condition can replace (a
    token's whole-second clock, a TOTP window); either way a comment on its line or the line above
    says so."""
    unexplained = []
    for path in sorted(TESTS.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        lines = path.read_text("utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            code = line.split("#", 1)[0]
            if re.search(r"\bsleep\(", code) and not code.lstrip().startswith(("script.write_text", '"', "'")):
                above = lines[number - 2] if number > 1 else ""
                if "#" not in line and not above.lstrip().startswith("#"):
                    unexplained.append(f"{path.relative_to(TESTS.parent)}:{number}: {line.strip()}")
    assert not unexplained, "sleeps without a reason:\n" + "\n".join(unexplained)


def test_every_test_server_stops_at_once():
    """A test's own server serves through tests/background_server.py: ``serve_forever`` with its default
    ``poll_interval`` made each ``shutdown()`` wait up to half a second (about 0.5 s a test in
    tests/identity/test_token_validator.py). The stop itself is timed nowhere; what is checked is where the loop starts."""
    elsewhere = []
    for path in sorted(TESTS.rglob("*.py")):
        if "node_modules" in path.parts or path.name == "background_server.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "serve_forever":
                elsewhere.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}")
    assert not elsewhere, "serve_forever outside tests/background_server.py (serve_in_thread, served):\n" + \
        "\n".join(elsewhere)


def test_a_test_not_marked_database_cannot_open_the_test_database(monkeypatch):
    """CI runs on PostgreSQL only the tests marked ``database`` (every test on the app is, by
    tests/conftest.py); one that reaches the test database without the mark would run on SQLite only."""
    import sqlalchemy as sa

    from tests import conftest

    url = "postgresql+psycopg://renkei:renkei@127.0.0.1:9/renkei_under_test"
    monkeypatch.setattr(conftest, "TEST_DATABASES", conftest.TEST_DATABASES | {conftest._database_key(sa.make_url(url))})
    with pytest.raises(pytest.fail.Exception, match="not marked @pytest.mark.database"):
        sa.create_engine(url).connect()


def test_a_test_on_the_app_is_marked_database(request, db):
    assert request.node.get_closest_marker("database") is not None


def test_a_test_without_the_app_is_not_marked_database(request):
    assert request.node.get_closest_marker("database") is None


def test_only_the_checks_of_a_rendered_page_run_on_one_database():
    """``rendered`` takes a test on the app out of CI's PostgreSQL pass (issue 49: axe-core and the raw-text
    checks of a rendered page run once). Only a browser test that checks pages with axe-core may carry it, never a
    journey (whose steps are rules the database can change), and it wins over the app but not over ``database``."""
    from tests import conftest

    wrong = []
    for path in sorted(TESTS.rglob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        if "mark.rendered" not in text or path.name == Path(__file__).name:
            continue
        name = str(path.relative_to(TESTS.parent))
        if path.parent.name != "browser" or path.name.startswith("test_journeys") or "axe" not in text.lower():
            wrong.append(name)
    assert not wrong, f"marked rendered but not an axe-core check of pages under tests/browser: {wrong}"

    class Item:
        fixturenames = ("app", "page")
        path = Path(__file__)

        def __init__(self, *markers):
            self.markers = markers

        def get_closest_marker(self, name):
            return name if name in self.markers else None

    assert conftest.touches_the_database(Item())
    assert not conftest.touches_the_database(Item("rendered"))
    assert conftest.touches_the_database(Item("rendered", "database"))
