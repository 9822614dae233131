"""The exact bytes of the audit exports (CSV for Excel, JSON lines) and of a purge archive.

Exports are built a group of records at a time for speed (issue 12); what an auditor downloads must
stay byte for byte what one record at a time gave: quotes, commas, line breaks, non-ASCII text,
nulls, formula-like text and control characters included. The expected text is written here from
the stored values with the rules themselves (RFC 4180 quoting, Excel neutralising, canonical JSON),
not with renkei's serialiser.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from core import audit as core_audit
from core.actor import Actor
from core.audit import AuditRecord
from governance import audit, audit_export
from tests.conftest import sign_in

UTC = dt.timezone.utc
AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査 役", roles=frozenset({"auditor"}))
FIELDS = ("seq", "occurred_at", "actor_issuer", "actor_subject", "actor_name", "actor_role", "tenant_code",
          "action", "target_type", "target_id", "before", "after", "request_id", "source_ip", "prev_hash", "hash")
HEADER_JA = ("番号,日時(UTC),操作者の発行者,操作者ID,操作者,役割,団体コード,操作,対象種別,対象,変更前,変更後,"
             "リクエストID,接続元IP,前レコードのハッシュ,ハッシュ\r\n")
HEADER_EN = ",".join(FIELDS) + "\r\n"

# (actor name, request id, tenant, target, before, after): what people type ends up in the log
HOSTILE = [
    ('田中 "Taro", 課長', "req,1", "431001", "line1\nline2", None, {"name": "熊本市", "note": 'say "hi", ok'}),
    ('=HYPERLINK("http://x","y")', None, None, "+81", {"a": None, "b": [1, "二"]}, None),
    ("-minus", 'q"uote', "432024", "@at", {"x": "\ttab"}, {"emoji": "😀", "back": "a\\b"}),
    ("ctl\x01char\x7fdel", "\tstart", None, "\rcr", None, None),
    ("cr\r\nlf, both", "", "431001", "plain", {"n": 0}, {"n": 1.5}),
    ("plain", None, "431001", "", None, {"empty": ""}),
]


def moment(number: int) -> dt.datetime:
    # microseconds vary, and one is zero (its text must still show .000000)
    return dt.datetime(2025, 6, 1, 3, 4, 5, 0 if number == 2 else 1000 * number + 7, tzinfo=UTC) + dt.timedelta(minutes=number)


def stamp(when: dt.datetime) -> str:
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:"
            f"{when.second:02d}.{when.microsecond:06d}Z")


def canonical(value):
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@pytest.fixture
def hostile_log(db, audit_clock):
    """The HOSTILE records, appended as any act is, each 10 times (60 records: several groups and
    batches); returns each record's values as the log holds them, in order."""
    expected = []
    for round_ in range(10):
        for index, (name, request_id, tenant, target, before, after) in enumerate(HOSTILE):
            number = round_ * len(HOSTILE) + index
            actor = Actor(issuer="urn:test", subject=f"person-{index}", name=name, roles=frozenset({"platform-operator"}),
                          request_id=request_id, source_ip=None if index % 2 else "192.0.2.7")
            audit_clock.set(moment(number))
            core_audit.record(db, actor, "tenant.update", "tenant", target, tenant_code=tenant, before=before, after=after)
            expected.append({"seq": number + 1, "occurred_at": stamp(moment(number)), "actor_issuer": "urn:test",
                             "actor_subject": f"person-{index}", "actor_name": name, "actor_role": "platform-operator",
                             "tenant_code": tenant, "action": "tenant.update", "target_type": "tenant", "target_id": target,
                             "before": canonical(before), "after": canonical(after), "request_id": request_id,
                             "source_ip": None if index % 2 else "192.0.2.7"})
    db.commit()
    audit_clock.set(None)
    hashes = dict(((seq, (prev, this)) for seq, prev, this in db.execute(sa.text("SELECT seq, prev_hash, hash FROM audit_record"))))
    for values in expected:
        values["prev_hash"], values["hash"] = hashes[values["seq"]]
    return expected


def excel_cell(value) -> str:
    text = "" if value is None else str(value)
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "\ufffd", text)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


def expected_csv(records, header=HEADER_JA) -> bytes:
    lines = [",".join(excel_cell(values[f]) for f in FIELDS) + "\r\n" for values in records]
    return ("\ufeff" + header + "".join(lines)).encode("utf-8")


def expected_jsonl(records) -> bytes:
    return "".join(json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
                   for values in records).encode("utf-8")


def test_hostile_values_are_written_as_excel_and_json_expect_them(db, hostile_log):
    csv_text = b"".join(audit_export.export_bytes(audit_export.records_in_period(db, AUDITOR, None, None), "csv")).decode("utf-8")
    # a few cells as an auditor sees them in Excel: quoted, neutralised, nothing lost
    assert '"田中 ""Taro"", 課長"' in csv_text
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in csv_text
    assert ",'-minus," in csv_text and ",'@at," in csv_text and "ctl\ufffdchar\ufffddel" in csv_text
    assert '"{""name"":""熊本市"",""note"":""say \\""hi\\"", ok""}"' in csv_text
    jsonl = b"".join(audit_export.export_bytes(audit_export.records_in_period(db, AUDITOR, None, None), "jsonl")).decode("utf-8")
    first = json.loads(jsonl.splitlines()[0])
    assert first["target_id"] == "line1\nline2" and first["before"] is None and first["occurred_at"] == stamp(moment(0))


@pytest.mark.parametrize("group, batch", [(None, 5000), (4, 7), (1, 1)])
def test_exports_are_byte_for_byte_the_format_whatever_the_grouping(db, hostile_log, monkeypatch, group, batch):
    if group is not None:
        monkeypatch.setattr(audit_export, "_GROUP", group)
    records = lambda: audit_export.records_in_period(db, AUDITOR, None, None, batch=batch)  # noqa: E731
    assert b"".join(audit_export.export_bytes(records(), "csv")) == expected_csv(hostile_log)
    assert b"".join(audit_export.export_bytes(records(), "csv", japanese_headers=False)) == expected_csv(hostile_log, HEADER_EN)
    assert b"".join(audit_export.export_bytes(records(), "jsonl", chunk_size=100)) == expected_jsonl(hostile_log)


def test_records_and_rows_from_elsewhere_export_the_same(db, hostile_log, tmp_path):
    orm_records = db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)).all()
    for source in (orm_records, audit.iter_records(db, batch=8), list(audit_export.records_in_period(db, AUDITOR, None, None))):
        out = tmp_path / "export.csv"
        with out.open("wb") as handle:
            audit_export.write_export(handle, source, "csv")
        assert out.read_bytes() == expected_csv(hostile_log)
    with (tmp_path / "export.jsonl").open("wb") as handle:
        audit_export.write_export(handle, orm_records, "jsonl")
    assert (tmp_path / "export.jsonl").read_bytes() == expected_jsonl(hostile_log)


def test_a_period_exports_only_its_records(db, hostile_log):
    day = moment(0).astimezone(dt.timezone(dt.timedelta(hours=9))).date()  # 2025-06-01 JST: all of them
    assert b"".join(audit_export.export_bytes(audit_export.records_in_period(db, AUDITOR, day, day), "jsonl")) == expected_jsonl(hostile_log)
    assert b"".join(audit_export.export_bytes(audit_export.records_in_period(db, AUDITOR, day + dt.timedelta(days=1), None), "csv")) \
        == expected_csv([])


def test_the_auditor_downloads_the_same_bytes_from_the_ui(client, db, hostile_log):
    sign_in(client, ["auditor"])
    for fmt, expected in (("csv", expected_csv(hostile_log)), ("jsonl", expected_jsonl(hostile_log))):
        response = client.get(f"/admin/audit-verify/export?format={fmt}")
        assert response.status_code == 200 and response.is_streamed
        assert response.get_data() == expected
        response.close()


def test_the_api_streams_the_same_bytes_without_reading_the_log_first(open_api, db, hostile_log, monkeypatch):
    """A client of GET /api/v1/audit/export gets its first bytes before the log has been read whole
    (no spooling of the whole export inside the request), and the same bytes as the page's download.
    Batches of 10 records and pieces as small as possible, so that 60 records make several of each."""
    monkeypatch.setattr(audit_export, "records_in_period", functools.partial(audit_export.records_in_period, batch=10))
    monkeypatch.setattr(audit_export, "export_bytes", functools.partial(audit_export.export_bytes, chunk_size=1))
    statements = []
    engine = db.get_bind()
    listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    for query, expected in (("format=csv", expected_csv(hostile_log)),
                            ("format=jsonl", expected_jsonl(hostile_log)),
                            ("format=csv&english_headers=true", expected_csv(hostile_log, HEADER_EN))):
        statements.clear()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = open_api.get(f"/api/v1/audit/export?{query}", buffered=False)
            assert response.status_code == 200 and response.is_streamed
            # at most the first batch read (to start the response), not the 7 reads of the whole log
            assert len([s for s in statements if "FROM audit_record" in s]) <= 1
            body = response.get_data()
            response.close()
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert body == expected
        assert response.headers["Content-Disposition"] == f'attachment; filename="audit-start-now.{query[7:].split("&")[0]}"'
    refused = open_api.get("/api/v1/audit/export?from=2025-04-02&to=2025-04-01")  # checked before the stream starts
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"


def test_the_export_streams_batch_by_batch(db, hostile_log):
    statements = []
    engine = db.get_bind()
    listener = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with Session(engine) as session:
            pieces = audit_export.export_bytes(audit_export.records_in_period(session, AUDITOR, None, None, batch=10), "jsonl",
                                        chunk_size=1)
            first = next(pieces)
            reads = [s for s in statements if "FROM audit_record" in s]
            assert len(reads) == 1  # the first bytes leave after one batch of 10 was read, not the whole log
            assert first.decode("utf-8").startswith('{"action":"tenant.update"')
            rest = b"".join(pieces)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert first + rest == expected_jsonl(hostile_log)
    assert len([s for s in statements if "FROM audit_record" in s]) == 7  # 6 batches and the empty one that ends it


def test_a_purge_archive_holds_the_records_in_the_export_format(db, operator, audit_clock, hostile_log, tmp_path):
    audit_clock.set(dt.datetime.now(UTC))
    core_audit.record(db, operator, "tenant.update", "tenant", "431001", tenant_code="431001")  # recent: kept
    db.commit()
    audit_clock.set(None)
    result = audit_export.purge(db, operator, tmp_path, now=dt.datetime(2027, 1, 1, tzinfo=UTC))
    db.commit()
    assert result is not None and result.count == len(hostile_log)
    data = result.archive_path.read_bytes()
    lines = data.splitlines(keepends=True)
    assert b"".join(lines[:-1]) == expected_jsonl(hostile_log)
    manifest = json.loads(lines[-1])["manifest"]
    assert manifest["count"] == len(hostile_log)
    assert (manifest["last_seq"], manifest["last_hash"]) == (hostile_log[-1]["seq"], hostile_log[-1]["hash"])
    assert audit_export.verify_archive(result.archive_path).intact


def test_times_are_written_in_utc_whatever_zone_the_database_gives_them_in():
    from zoneinfo import ZoneInfo

    jst = dt.timezone(dt.timedelta(hours=9))
    cases = [
        ([dt.datetime(2025, 4, 1, 9, 0, 0, 5)], ["2025-04-01T09:00:00.000005Z"]),  # naive (SQLite): UTC
        ([dt.datetime(2025, 4, 1, 9, 0, tzinfo=UTC), dt.datetime(2025, 4, 1, 9, 0, 1, tzinfo=ZoneInfo("Etc/UTC"))],
         ["2025-04-01T09:00:00.000000Z", "2025-04-01T09:00:01.000000Z"]),  # PostgreSQL in UTC
        ([dt.datetime(2025, 4, 1, 9, 0, 0, 123456, tzinfo=jst), dt.datetime(2025, 4, 1, 0, 30, tzinfo=ZoneInfo("Asia/Tokyo"))],
         ["2025-04-01T00:00:00.123456Z", "2025-03-31T15:30:00.000000Z"]),  # a server in Japan time
    ]
    for moments, expected in cases:
        assert audit_export._timestamps(moments) == expected


@pytest.mark.parametrize("group", [None, 1])
def test_a_tricky_record_is_downloaded_as_written_here(client, db, audit_clock, monkeypatch, group):
    """Two records, each line written out here by hand: a name with a comma and quotes, Japanese
    text, no tenant, JSON with quotes and a backslash in before/after (a group the fast path writes
    alone when groups are of one record), then a formula and a line break (neutralised and quoted)."""
    if group is not None:
        monkeypatch.setattr(audit_export, "_GROUP", group)
    person = Actor(issuer="urn:test", subject="p-1", name='課長 "山田", 太郎', roles=frozenset({"platform-operator"}),
                   request_id="r-1", source_ip="192.0.2.1")
    audit_clock.set(dt.datetime(2025, 6, 1, 3, 4, 5, 60, tzinfo=UTC))
    core_audit.record(db, person, "tenant.update", "tenant", "熊本市", before={"名前": 'a"b'}, after={"path": "c:\\d"})
    formula = Actor(issuer="urn:test", subject="p-2", name="=SUM(A1)", roles=frozenset({"auditor"}))
    audit_clock.set(dt.datetime(2025, 6, 1, 3, 4, 6, tzinfo=UTC))
    core_audit.record(db, formula, "tenant.update", "tenant", "line1\nline2", tenant_code="431001")
    db.commit()
    audit_clock.set(None)
    (h1p, h1), (h2p, h2) = db.execute(sa.text("SELECT prev_hash, hash FROM audit_record ORDER BY seq")).all()
    sign_in(client, ["auditor"])
    csv_body = client.get("/admin/audit-verify/export?format=csv").get_data()
    assert csv_body == (
        "\ufeff" + HEADER_JA
        + f'1,2025-06-01T03:04:05.000060Z,urn:test,p-1,"課長 ""山田"", 太郎",platform-operator,,tenant.update,tenant,熊本市,'
          f'"{{""名前"":""a\\""b""}}","{{""path"":""c:\\\\d""}}",r-1,192.0.2.1,{h1p},{h1}\r\n'
        + f"2,2025-06-01T03:04:06.000000Z,urn:test,p-2,'=SUM(A1),auditor,431001,tenant.update,tenant,"
          f'"line1\nline2",,,,,{h2p},{h2}\r\n').encode("utf-8")
    jsonl_body = client.get("/admin/audit-verify/export?format=jsonl").get_data()
    assert jsonl_body == (
        f'{{"action":"tenant.update","actor_issuer":"urn:test","actor_name":"課長 \\"山田\\", 太郎",'
        f'"actor_role":"platform-operator","actor_subject":"p-1","after":"{{\\"path\\":\\"c:\\\\\\\\d\\"}}",'
        f'"before":"{{\\"名前\\":\\"a\\\\\\"b\\"}}","hash":"{h1}","occurred_at":"2025-06-01T03:04:05.000060Z",'
        f'"prev_hash":"{h1p}","request_id":"r-1","seq":1,"source_ip":"192.0.2.1","target_id":"熊本市",'
        f'"target_type":"tenant","tenant_code":null}}\n'
        f'{{"action":"tenant.update","actor_issuer":"urn:test","actor_name":"=SUM(A1)","actor_role":"auditor",'
        f'"actor_subject":"p-2","after":null,"before":null,"hash":"{h2}","occurred_at":"2025-06-01T03:04:06.000000Z",'
        f'"prev_hash":"{h2p}","request_id":null,"seq":2,"source_ip":null,"target_id":"line1\\nline2",'
        f'"target_type":"tenant","tenant_code":"431001"}}\n').encode("utf-8")
