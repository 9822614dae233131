"""The 基本4情報 nowhere in plain text at rest (renkei issue 50 item 1): a resident enrolled at the counter's page,
a namesake differing only in the date of birth sent to review, the person looked up and searched by name, their
address changed by a card sign-in's newer claims, a service given their name through the brokerage; then the
database as it lies on the disk (SQLite's file, PostgreSQL's dump as text) and the nightly backup archive are
searched for the name, the address and the date of birth in every form a person would write them, and the
request log for the same. (The residents' realm holds none of them: tests/residents/test_realm_plaintext.py.)"""

from __future__ import annotations

import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from admin.resident_keys import keyring
from core.actor import Actor
from maintenance.archive import pg_tool
from residents import brokerage, operations as residents
from residents.models import Resident
from tests.conftest import sign_in
from tests.residents.conftest import KUMAMOTO, api_client, desk
from tests.residents.test_brokerage import TEXT as BROKERAGE_TEXT
from tests.residents.test_desk_forms import PERSON
from tests.residents.test_recovery import give

# what nobody else in the test's data is called or lives at: each a separate needle, so that a split field (the
# family name alone, the street without the city) is still found
NAME = "渡邉 紗英子"
ADDRESS = "熊本市中央区水前寺6-18-1"
MOVED = "熊本市東区新南部1-1-1"
NEEDLES = ("渡邉", "紗英子", "渡邊", "水前寺", "新南部", "1980-04-01", "1980/04/01", "19800401", "昭和55年4月1日",
           "1980-04-02")


def _found(data: bytes) -> list[str]:
    """The needles in ``data``, read as UTF-8 and as UTF-16 (SQLite may store text in either)."""
    found = []
    for needle in NEEDLES:
        if needle.encode("utf-8") in data or needle.encode("utf-16-le") in data:
            found.append(needle)
    return found


def _database_bytes(db) -> bytes:
    """The database as it is at rest: SQLite's file (after a checkpoint, with its WAL), PostgreSQL's dump as SQL."""
    engine = db.get_bind()
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(engine.url.database) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return b"".join(path.read_bytes() for path in (Path(engine.url.database), Path(f"{engine.url.database}-wal"))
                        if path.exists())
    from tests.conftest import TEST_DATABASE_OWNER_URL

    url = sa.make_url(TEST_DATABASE_OWNER_URL)
    done = subprocess.run([pg_tool("pg_dump"), "--format=plain", "--data-only", "-h", url.host or "127.0.0.1",
                           "-p", str(url.port or 5432), "-U", url.username, url.database],
                          env={"PGPASSWORD": url.password or "", "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def _archive_bytes(archive: Path) -> bytes:
    """Every member of the backup archive; PostgreSQL's custom-format dump (compressed) turned back into SQL."""
    parts = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name.endswith(".pgdump"):
                dump = archive.parent / "database.pgdump"
                dump.write_bytes(data)
                done = subprocess.run([pg_tool("pg_restore"), "--data-only", "-f", "-", str(dump)], capture_output=True,
                                      timeout=300)
                assert done.returncode == 0, done.stderr.decode()
                data = done.stdout
            parts.append(data)
    return b"".join(parts)


def test_no_name_address_or_birth_date_lies_in_the_database_the_backup_or_the_request_log(
        app, client, db, consent_setup, request_log_folder, tmp_path):
    keys = keyring()
    navi = consent_setup(name="くらしナビ", text=BROKERAGE_TEXT, api_client_id=api_client(db, "くらしナビ"))
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    enrolled = client.post("/admin/residents/enrol", data={**PERSON, "full_name": NAME, "address": ADDRESS})
    assert enrolled.status_code == 200, enrolled.get_data(as_text=True)
    resident = db.scalar(sa.select(Resident).where(Resident.common_id.is_not(None)))
    assert resident is not None
    # a namesake at the same address differing only in the date of birth: a review item, sealed as well
    client.post("/admin/residents/enrol", data={**PERSON, "full_name": NAME, "address": ADDRESS,
                                                "birth_date": "1980-04-02"})
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 2
    searched = client.post("/admin/residents/search", data={"search_name": NAME, "search_birth_date": "1980-04-01",
                                                            "search_reason": "本人からの問合せ", "csrf_token": "t"})
    assert searched.status_code == 200 and ADDRESS in searched.get_data(as_text=True)
    looked = client.post("/admin/residents/lookup", data={"common_id": resident.common_id, "reason": "窓口での連携手続",
                                                          "csrf_token": "t"})
    assert looked.status_code == 200
    client.post("/admin/residents/link", data={"common_id": resident.common_id, "lookup_reason": "窓口での連携手続",
                                               "link_service": str(navi.id), "link_user_id": "navi-user-0001",
                                               "link_verification": "photo_id", "link_assurance": "3",
                                               "csrf_token": "t"})
    client.post("/admin/residents/disclosure", data={"common_id": resident.common_id, "lookup_reason": "窓口での連携手続",
                                                     "disclosure_service": str(navi.id), "disclosure_items": ["氏名"],
                                                     "disclosure_reason": "本人の申出", "csrf_token": "t"})
    give(db, navi, "navi-user-0001")
    db.commit()
    db.expire_all()
    # the card's newer claims move the person (the notice to them names the change, not the address)
    residents.refresh_claims(db, desk(), keys, resident, {
        "tenant_code": KUMAMOTO, "full_name": NAME, "address": MOVED, "birth_date": "1980-04-01", "sex": "1",
        "verification": "my_number_card", "assurance_level": 3}, "マイナンバーカード")
    db.commit()
    navi_actor = Actor(issuer="urn:test", subject="svc-navi", roles=frozenset({"brokerage-client"}),
                       client_id=navi.api_client_id)
    answer = brokerage.broker(db, navi_actor, keys, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                     "items": ["氏名", "住所"], "purpose": "行政サービスの案内"})
    db.commit()
    # the flow above is real: without it the search below would find nothing for want of data
    assert answer.allowed and answer.items == {"氏名": NAME}, answer

    archive = tmp_path / "nightly.tar"
    made = app.test_cli_runner().invoke(args=["backup", "--no-realm", "--output", str(archive), "--as", "unei"])
    assert made.exit_code == 0, made.output

    at_rest, archived = _database_bytes(db), _archive_bytes(archive)
    # both hold the person (their common ID, the service's user ID, the consent text), so the search reads their data
    for data in (at_rest, archived):
        assert resident.common_id.encode() in data and "navi-user-0001".encode() in data and "くらしナビ".encode() in data
    assert _found(at_rest) == [], "the database holds a resident's items in plain text"
    assert _found(archived) == [], "the backup archive holds a resident's items in plain text"
    logged = b"".join(path.read_bytes() for path in request_log_folder.rglob("*") if path.is_file())
    assert logged, "the request log wrote nothing: the search above proves nothing of it"
    assert _found(logged) == [], "the request log holds a resident's items in plain text"


def test_the_search_finds_the_needles_where_they_are_written(tmp_path):
    """The search itself: a file holding the items in plain text (UTF-8 or UTF-16) is found out."""
    assert _found(f"x{NAME}y".encode("utf-8")) == ["渡邉", "紗英子"]
    assert _found("昭和55年4月1日".encode("utf-16-le")) == ["昭和55年4月1日"]
    assert _found(b"1980-04-01") == ["1980-04-01"]
    with pytest.raises(AssertionError):
        assert _found(ADDRESS.encode()) == []
