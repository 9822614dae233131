"""The contract tests' cases recorded by one pass are sent again by the next exactly as generated (issue 49,
tests/contract_cases.py): every field of a case survives the round trip (a multipart body's bytes, a bytes body, a
JSON null body, no body at all), a replay draws nothing, and a file made from another document or another list of
operations is not replayed: the cases are generated, and recorded anew. On a small document of this module's own."""

from __future__ import annotations

import pickle

import pytest
import schemathesis
from schemathesis.core import NOT_SET

from schemathesis.transport.serialization import Binary

from tests.contract_cases import CaseStore, rebuild, snapshot

SEED = 20260514
DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "cases", "version": "1"},
    "paths": {
        "/files/{file_id}": {"post": {
            "parameters": [{"name": "file_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                           {"name": "note", "in": "query", "schema": {"type": "string"}},
                           {"name": "X-Mark", "in": "header", "schema": {"type": "string", "pattern": "^[a-z]+$"}},
                           {"name": "session", "in": "cookie", "schema": {"type": "string", "pattern": "^[a-z]+$"}}],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["upload"],
                "properties": {"upload": {"type": "string", "format": "binary"}, "title": {"type": "string"}}}}}},
            "responses": {"200": {"description": "stored"}}}},
        "/raw": {"put": {
            "requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {
                "type": "string", "format": "binary"}}}},
            "responses": {"200": {"description": "stored"}}}},
        "/things": {"get": {"responses": {"200": {"description": "the things"}}}},
    },
}
FIELDS = ("method", "path", "path_parameters", "query", "headers", "cookies", "body", "media_type",
          "multipart_content_types")


def _operations(document):
    schema = schemathesis.openapi.from_dict(document)
    return {result.ok().label: result.ok() for result in schema.get_all_operations()}


def _entries(operations):
    return [("operator", label, 5) for label in sorted(operations)]


def _run(store, operations, examples: int = 5) -> dict[str, list]:
    """Every case the store sends, by operation, each with an Authorization header added as the contract test adds
    a person's token."""
    sent: dict[str, list] = {label: [] for label in operations}
    for label in sorted(operations):
        def send(case, label=label):
            case.headers = {**(case.headers or {}), "Authorization": "Bearer token-of-this-run"}
            sent[label].append(case)

        store.send(operations[label], ("operator", label), examples, send)
    store.save()
    return sent


def _plain(value):
    """``value`` with Schemathesis's Binary (a str subclass equal to every other: its bytes are in ``data``) as its
    bytes, so that comparing two bodies compares their files."""
    if isinstance(value, Binary):
        return ("binary", value.data)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _fields(case) -> dict:
    return {name: _plain(getattr(case, name)) for name in FIELDS} | {
        "meta": (case.meta.generation.mode, case.meta.phase.name)}


def test_a_replay_sends_every_recorded_case_with_every_field_and_draws_none(tmp_path, monkeypatch):
    operations = _operations(DOCUMENT)
    recording = CaseStore("shard-0", DOCUMENT, _entries(operations), SEED, directory=tmp_path)
    assert not recording.replaying
    generated = _run(recording, operations)
    assert [path.name for path in tmp_path.iterdir()] == ["shard-0.pickle"]  # written whole, no temporary left

    # another process: no generation at all (the strategy would fail), the same cases in the same order
    operations = _operations(DOCUMENT)
    for operation in operations.values():
        monkeypatch.setattr(operation, "as_strategy", lambda *a, **k: pytest.fail("a replay generated cases"))
    replaying = CaseStore("shard-0", DOCUMENT, _entries(operations), SEED, directory=tmp_path)
    assert replaying.replaying and "replayed" in replaying.describe()
    replayed = _run(replaying, operations)

    assert {label: len(cases) for label, cases in replayed.items()} == \
        {label: len(cases) for label, cases in generated.items()}
    for label in operations:
        assert generated[label], label
        for original, again in zip(generated[label], replayed[label], strict=True):
            assert again.operation is operations[label]
            assert _fields(again) == _fields(original)
            assert again.headers["Authorization"] == "Bearer token-of-this-run"
    uploads = [case.body["upload"] for case in replayed["POST /files/{file_id}"]]
    assert all(isinstance(upload.data, bytes) for upload in uploads) and any(upload.data for upload in uploads)
    assert all(case.body is NOT_SET for case in replayed["GET /things"])  # no body: the sentinel itself
    assert any(case.body.data for case in replayed["PUT /raw"])
    stored = pickle.loads((tmp_path / "shard-0.pickle").read_bytes())
    assert not any("authorization" in {name.lower() for name in fields["headers"]}
                   for cases in stored["cases"].values() for fields in cases)  # no token kept


@pytest.mark.parametrize("body", [b"\x00\xffbytes", None, NOT_SET, {"title": "題名", "upload": b"%PDF-1.7"},
                                  {"upload": Binary(b"\x89PNG")}])
def test_a_case_built_by_hand_survives_the_round_trip(body):
    operation = _operations(DOCUMENT)["PUT /raw"]
    case = operation.Case(body=body, query={"q": "値"}, headers={"X-Mark": "abc", "Authorization": "Bearer x"},
                          cookies={"session": "s"}, media_type="application/octet-stream")
    again = rebuild(operation, pickle.loads(pickle.dumps(snapshot(case))))
    assert again.body is NOT_SET if body is NOT_SET else _plain(again.body) == _plain(body)
    assert dict(again.headers) == {"X-Mark": "abc"}  # the token is each run's own
    assert (again.query, again.cookies, again.media_type, again.method) == \
        ({"q": "値"}, {"session": "s"}, "application/octet-stream", "PUT")


@pytest.mark.parametrize("change", ["document", "operations"])
def test_cases_of_another_document_or_assignment_are_generated_again(tmp_path, change):
    operations = _operations(DOCUMENT)
    _run(CaseStore("shard-1", DOCUMENT, _entries(operations), SEED, directory=tmp_path), operations)
    before = (tmp_path / "shard-1.pickle").read_bytes()

    document = DOCUMENT
    if change == "document":  # the API changed between the passes
        document = {**DOCUMENT, "paths": {**DOCUMENT["paths"], "/things": {"get": {
            "parameters": [{"name": "page", "in": "query", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "the things"}}}}}}
    operations = _operations(document)
    entries = _entries(operations) if change == "document" else _entries(operations)[1:]
    if change == "operations":
        operations.pop(min(operations))
    store = CaseStore("shard-1", document, entries, SEED, directory=tmp_path)
    assert not store.replaying
    sent = _run(store, operations)
    assert all(sent.values())  # generated
    if change == "document":
        assert all("page" in case.query for case in sent["GET /things"])  # by the new document
    assert (tmp_path / "shard-1.pickle").read_bytes() != before  # and recorded anew
    assert CaseStore("shard-1", document, entries, SEED, directory=tmp_path).replaying


# --- the document the contract test draws from admits exactly the strings the app's document does -------------

# Strings on each side of every rule rewritten: blank and not, every kind of space, controls and format characters
# (barred by the text rules) alone, inside and at either end, line breaks (a trailing one is where Python's ``$`` and
# the validator's differ), e-mail addresses and web addresses well and badly formed, dates, the empty string.
STRINGS = ["", " ", "\u3000", "\t", "\n", "a", " a ", "熊本", "a\n", "\na", "a\nb", "a\r\nb", "a\tb", "a\x00", "\x00a",
           "a\x7f", "\x85", "a\u00adb", "\u200b", "a\u200b", "\ufeff", "x\ufeffy", "a\u2028b", "\U000e0001", "a\U000e0020",
           "a@b.jp", "a@b.jp\n", "a @b.jp", "a@b", "@b.jp", "a@@b.jp", "a\u00ad@b.jp", "a@b\u200b.jp", "a,b@c.jp",
           "ｔａｒｏ@例え.jp", "https://example.jp/a", "http://example.jp/\x01", "https://", "ftp://example.jp",
           "https://example.jp/a b", "token", "tok en", "tok=en", "x" * 101, "\x1c", "a\x1f",
           # dates: of a supported year and not, real and not, and spelled otherwise
           "2026-05-01", "1989-01-01", "2101-12-31", "1988-12-31", "2102-01-01", "2026-02-29", "2028-02-29", "2026-13-01",
           "2026-00-10", "2026-04-31", "2026-5-1", "2026-05-01\n", "2026-05-01T00:00:00", "20260501", "2026-05-01 ",
           "２０２６-05-01", "+2026-05-01", "2026-05-"]


def _string_schemas(node, found):
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            found.append(node)
        for value in node.values():
            _string_schemas(value, found)
    elif isinstance(node, list):
        for value in node:
            _string_schemas(value, found)
    return found


def test_the_document_drawn_from_admits_exactly_the_strings_the_apps_does(app):
    import jsonschema_rs

    from tests.contract_cases import cheaper_to_draw

    served = app.api_doc
    drawn = cheaper_to_draw(served)
    assert drawn != served and served == app.api_doc  # rewritten, on a copy
    pairs = [(before, after) for before, after in zip(_string_schemas(served, []), _string_schemas(drawn, []))
             if before["pattern"] != after["pattern"]]
    assert len(pairs) > 100  # every not-blank text, the e-mail and web addresses, the query dates
    assert {"date"} <= {after.get("format") for _, after in pairs}
    for before, after in pairs:
        assert {k: v for k, v in before.items() if k != "pattern"} == {k: v for k, v in after.items() if k != "pattern"}
        # formats asserted, as Schemathesis draws them (a query date is a date: the app refuses any other text)
        old, new = (jsonschema_rs.Draft202012Validator({k: v for k, v in schema.items() if k not in {"title", "description"}},
                                                       validate_formats=True) for schema in (before, after))
        answers = [old.is_valid(text) for text in STRINGS]
        assert True in answers and False in answers, before  # the strings reach both sides of the rule
        for text, answer in zip(STRINGS, answers):
            assert new.is_valid(text) == answer, (before["pattern"], after["pattern"], text)


# --- the same cases in every process ------------------------------------------------------------------------------

def _drawn(directory, operations) -> dict:
    """The cases a fresh store draws and records in ``directory``, each without its generation's duration."""
    import dataclasses

    examples = 60  # enough choices that some draw a constant
    _run(CaseStore("shard-1", DOCUMENT, [("operator", label, examples) for label in sorted(operations)], SEED,
                   directory=directory), operations, examples)
    recorded = pickle.loads((directory / "shard-1.pickle").read_bytes())["cases"]
    for cases in recorded.values():
        for fields in cases:
            fields["meta"] = dataclasses.replace(fields["meta"], generation=None)
    return recorded


def test_a_process_that_imported_other_modules_draws_the_same_cases(tmp_path, monkeypatch):
    """The cases are a matter of the fingerprint's parts only: a pytest worker that ran other tests first (other
    modules imported, whose constants Hypothesis would draw now and then) draws what the drawing ahead of the tests
    draws (tests/contract_draw.py), which imports few."""
    import importlib
    import sys

    operations = _operations(DOCUMENT)
    (tmp_path / "before").mkdir()
    before = _drawn(tmp_path / "before", operations)
    # a module of the process's own, its constants the kinds of values the cases hold (the header's and the cookie's
    # lower-case words, integers, any text)
    words = [f"{a}{b}{c}" for a in "qxz" for b in "wjv" for c in "kyq"]
    (tmp_path / "constants_of_another_module.py").write_text(
        f"WORDS = {words!r}\nNUMBERS = {[7_000_000 + n for n in range(40)]!r}\nTEXTS = {[f'定数{n}' for n in range(40)]!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "constants_of_another_module", raising=False)
    importlib.import_module("constants_of_another_module")
    (tmp_path / "after").mkdir()
    assert _drawn(tmp_path / "after", operations) == before


def test_the_cases_drawn_ahead_are_the_ones_the_contract_tests_would_draw(app, monkeypatch, tmp_path):
    """CI draws the contract tests' cases before the tests (tests/contract_draw.py, while apt installs), on an app of
    its own, and a test replays a file only if its fingerprint is the one the test computes: for each shard and the
    CKAN test, the drawing ahead makes the store the test makes (its name, the document, the (caller, operation,
    examples) list, the seed). Compared on the session's app, without drawing."""
    from tests import contract_draw
    from tests.admin import test_api_contract as contract

    for name, value in contract.CONTRACT_CONFIG.items():  # as contract_app sets them
        monkeypatch.setitem(app.config, name, value)
    schema = contract.contract_schema(app)
    in_the_tests = [contract.shard_cases(schema, shard, tmp_path)[1] for shard in range(contract.SHARDS)]
    in_the_tests.append(contract.ckan_cases(app, tmp_path)[2])
    with contract_draw.drawing_app() as own_app:
        ahead = [store for _, _, store in contract_draw.stores(own_app, contract_draw.names_of([]), tmp_path)]
    assert [(store.path, store.fingerprint) for store in ahead] == [(store.path, store.fingerprint) for store in in_the_tests]
    assert [store.path.name for store in ahead] == ["shard-0.pickle", "shard-1.pickle", "shard-2.pickle",
                                                    "shard-3.pickle", "ckan.pickle"]
