"""The contract tests' generated cases, recorded by one pass and sent again by the next (issue 49).

CI runs the contract tests (tests/admin/test_api_contract.py) on SQLite and again on PostgreSQL, with the same seed:
Hypothesis would draw the very same requests twice, and drawing them is about 40 % of a shard's time. With
``RENKEI_TEST_CONTRACT_CASES`` naming a directory, a run that generates its cases writes them there (one file a
test or shard, written to a temporary file and renamed); a run that finds the file sends those cases instead,
each rebuilt as a Schemathesis case of the same operation, so the second pass sends exactly the first pass's
requests and checks, counts and reports them exactly as generated ones.

The test draws from :func:`cheaper_to_draw`'s copy of the document: the same strings admitted, spelled so that far
fewer drawn cases are thrown away.

A file holds a fingerprint of what made it: the OpenAPI document, the seed, the (caller, operation, examples)
list of the test or shard, and the versions of Schemathesis and Hypothesis. Nothing else decides the cases: Hypothesis
would now and then draw a constant of the process's own modules (:func:`_without_local_constants`), so the cases are
drawn without those, and a process that imported other modules (a pytest worker after other tests, or the drawing
ahead of the tests, tests/contract_draw.py) draws the very same cases. A file of another fingerprint (the API
changed between the passes, another shard's assignment) is not replayed: the cases are generated, and recorded
anew.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

VARIABLE = "RENKEI_TEST_CONTRACT_CASES"
FORMAT = 2  # the layout of a file's content and how its cases are drawn: change it when either changes


def fingerprint(document: dict, entries: Iterable[tuple], seed_value: int) -> str:
    """What decides the cases drawn: the document, the seed, each (caller, operation label, examples) in order, and
    the generators' versions."""
    digest = hashlib.sha256()
    for part in (json.dumps(document, sort_keys=True, ensure_ascii=False, default=str),
                 json.dumps([list(entry) for entry in entries], ensure_ascii=False),
                 str(seed_value), str(FORMAT),
                 importlib.metadata.version("schemathesis"), importlib.metadata.version("hypothesis")):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def snapshot(case) -> dict[str, Any]:
    """A case's fields as it is sent (copied: the call must not change what is kept), the Authorization header left
    out (each run adds its own person's token). Schemathesis's NOT_SET (no body at all, which a body of None is
    not) is kept as ``has_body`` False: the sentinel is compared by identity, which pickling would lose."""
    from schemathesis.core import NotSet

    has_body = not isinstance(case.body, NotSet)
    meta = case._meta  # noqa: SLF001  (the generation's mode and phase: the checks and their configuration read them)
    if meta is not None:
        # a copy without the hashes of the containers (Python's string hashes differ from process to process):
        # the rebuilt case computes them afresh, as a generated case does
        meta = dataclasses.replace(meta)
    return copy.deepcopy({
        "method": case.method,
        "path_parameters": dict(case.path_parameters or {}),
        "query": dict(case.query or {}),
        "headers": {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"},
        "cookies": dict(case.cookies or {}),
        "has_body": has_body,
        "body": case.body if has_body else None,
        "media_type": case.media_type,
        "multipart_content_types": case.multipart_content_types,
        "meta": meta,
    })


def rebuild(operation, fields: dict[str, Any]):
    """The Schemathesis case of ``operation`` that ``fields`` (of :func:`snapshot`) describe."""
    from schemathesis.core import NOT_SET

    fields = copy.deepcopy(fields)  # a case may be sent more than once (a test run twice in one process)
    return operation.Case(method=fields["method"], path_parameters=fields["path_parameters"], query=fields["query"],
                          headers=fields["headers"], cookies=fields["cookies"],
                          body=fields["body"] if fields["has_body"] else NOT_SET, media_type=fields["media_type"],
                          multipart_content_types=fields["multipart_content_types"], _meta=fields["meta"])


class CaseStore:
    """The cases of one test or shard: replayed from ``<directory>/<name>.pickle`` when it holds this fingerprint,
    else generated by Hypothesis (and recorded when a directory is named)."""

    def __init__(self, name: str, document: dict, entries: Iterable[tuple], seed_value: int,
                 directory: str | os.PathLike | None = None):
        directory = os.environ.get(VARIABLE) if directory is None else directory
        self.path = Path(directory) / f"{name}.pickle" if directory else None
        self.seed = seed_value
        self.fingerprint = fingerprint(document, entries, seed_value)
        self.stored = self._load()
        self.recorded: dict[Hashable, list[dict]] | None = \
            collections.defaultdict(list) if self.path is not None and self.stored is None else None

    @property
    def replaying(self) -> bool:
        return self.stored is not None

    def describe(self) -> str:
        if self.replaying:
            return f"cases replayed from {self.path}"
        return "cases generated" + (f", recorded to {self.path}" if self.recorded is not None else "")

    def _load(self) -> dict[Hashable, list[dict]] | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            with self.path.open("rb") as file:
                content = pickle.load(file)
        except Exception:  # noqa: BLE001  (a file of an older layout or a torn copy: generate instead)
            return None
        if not isinstance(content, dict) or content.get("fingerprint") != self.fingerprint:
            return None
        return content["cases"]

    def send(self, operation, key: Hashable, examples: int, send: Callable[[Any], None]) -> None:
        """Call ``send`` with each case of ``operation`` for ``key`` (a caller and the operation): the stored ones in
        their order, else ``examples`` drawn by Hypothesis (fixed seed, positive data, no shrinking)."""
        if self.stored is not None:
            for fields in self.stored.get(key, []):
                send(rebuild(operation, fields))
            return

        @seed(self.seed)
        @settings(max_examples=examples, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            if self.recorded is not None:
                self.recorded[key].append(snapshot(case))
            send(case)

        with _without_local_constants():
            run()

    def save(self) -> None:
        """Write the generated cases, if any were recorded: a temporary file beside the target, then renamed."""
        if self.recorded is None or self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                pickle.dump({"fingerprint": self.fingerprint, "cases": dict(self.recorded)}, file,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def _without_local_constants():
    """Hypothesis's draws without the constants of the process's "local" modules.

    Now and then (one choice in twenty) Hypothesis draws a constant instead of a random value: one of its own, or one
    read from the source of every local module in ``sys.modules``, which grows as a process imports. The same seed then
    drew other cases in a pytest worker that had run other tests first (other modules imported) and in the drawing
    ahead (tests/contract_draw.py): 16 of shard 0's 168 (caller, operation) lists differed in a character or two of a
    string. Hypothesis's own constants stay: they are the same in every process. Its internals, so a Hypothesis
    that no longer has them draws as it does (with the local constants)."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants

        cache, local_constants = providers.CONSTANTS_CACHE, providers._get_local_constants  # noqa: SLF001
    except (ImportError, AttributeError):
        yield
        return
    none = Constants()
    cache.cache.clear()  # the constants allowed for each kind of choice, local ones among them: made again without
    providers._get_local_constants = lambda: none  # noqa: SLF001
    try:
        yield
    finally:
        providers._get_local_constants = local_constants  # noqa: SLF001
        cache.cache.clear()


# --- the same document, cheaper to draw from ----------------------------------------------------------------------

# A class of one or more characters, not negated: what ``{"not": {"pattern": ...}}`` bars (core/validation.py's
# text rules), and a negated class inside a pattern.
_BARRED_CLASS = re.compile(r"\[(?!\^)((?:[^\\\]]|\\.)+)\]")
_NEGATED_CLASS = re.compile(r"\[\^((?:[^\\\]\[]|\\.)+)\]")


def _narrowed(pattern: str, barred: str) -> str | None:
    """``pattern`` admitting none of the characters of the class ``[barred]``, or None when it cannot be said here.

    With the ``not`` kept beside it the string schema admits exactly the same strings: a string without a barred
    character matches the narrowed pattern exactly when it matches the pattern (every character a match reads is one
    of the string's, none barred, and a narrowed class differs from its original only in barred characters), and a
    string with one is refused by the ``not`` either way. Only the patterns whose every drawn character comes from a
    narrowed class are rewritten: elsewhere the narrowing would not spare the filter its work."""
    if pattern == r"\S":
        # "some character that is not a space", spelled as the whole string so that no padding is drawn around it:
        # the padding was drawn from every character and the barred ones (controls, format characters) then
        # rejected the whole case (Hypothesis gives up on a filter after three tries)
        return f"^[^{barred}]*[^\\s{barred}][^{barred}]*$"
    if "(?" in pattern or not pattern.startswith("^") or not pattern.endswith("$") or r"\S" in pattern \
            or "." in _NEGATED_CLASS.sub("", pattern).replace(r"\.", ""):
        return None  # a group of another kind, padding drawn around it (unanchored), or an atom left as it is
    if "[" in _NEGATED_CLASS.sub("", pattern):
        return None  # a class that names its characters: left as it is
    return _NEGATED_CLASS.sub(lambda m: f"[^{m.group(1)}{barred}]", pattern)


# A query date's supported year is stated as the date's beginning (admin/api/contract.py: ``^(?:1989|...)-``): the
# date's generator draws any year and the pattern's draws pad the year with any text, so few drawn values were both
# a date and of a supported year. A date (RFC 3339's full-date, all the format admits) has a month 01-12 and a day
# 01-31 after its year: spelled out, the pattern draws dates, and admits with the format exactly what it did.
_MONTH_AND_DAY = "(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"


def _year_only(pattern: str) -> bool:
    """Whether ``pattern`` is ``^`` then a year (no alternative at its top level, no end) then ``-``."""
    if not (pattern.startswith("^") and pattern.endswith("-")) or "$" in pattern or "\\" in pattern:
        return False
    depth = 0
    for character in pattern:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "|" and depth == 0:
            return False
    return depth == 0


def cheaper_to_draw(document: dict) -> dict:
    """The OpenAPI ``document`` with each text rule spelled into its string's pattern where it can be: the same
    strings admitted (see :func:`_narrowed`), the same checks, but far fewer drawn cases thrown away.

    Every string of the API bars control and format characters with ``{"not": {"pattern": "[...]"}}``; where the
    string also has a pattern (``\\S``: not blank; an e-mail address's ``[^@\\s]+``), Schemathesis draws from the
    pattern over all of Unicode and filters the barred characters out afterwards, and a case whose string failed
    three draws is thrown away whole: one drawn case in eight was (one in five of shard 2's executions), four in five
    of some operations' (POST /api/v1/solutions). Likewise a query date of a supported year (:data:`_MONTH_AND_DAY`).
    Schemathesis checks the answers against this document: for an answer's strings it states the same rules."""
    import copy

    document = copy.deepcopy(document)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            barred = node.get("not")
            pattern = node.get("pattern")
            if node.get("format") == "date" and isinstance(pattern, str) and _year_only(pattern):
                pattern = node["pattern"] = pattern + _MONTH_AND_DAY
            if isinstance(pattern, str) and isinstance(barred, dict) and set(barred) == {"pattern"} \
                    and isinstance(barred["pattern"], str) and (match := _BARRED_CLASS.fullmatch(barred["pattern"])):
                narrowed = _narrowed(pattern, match.group(1))
                if narrowed is not None:
                    node["pattern"] = narrowed
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return document
