"""Receipts that verify (issue 54 item 5): a receipt downloaded from the portal or the console carries
each record's covered fields, the previous record's hash and the chain's newest signed checkpoint, and
`renkei verify-receipt FILE`, run as an operator runs it (a process of its own, no database reachable),
says it is valid; one character changed in a covered field, in the previous hash or in the checkpoint's
signature is refused, naming what differs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import sign_in
from tests.residents.test_portal_records import signed_in, story  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "flask", "sqlmodel", "psycopg", "admin.extensions")  # what a check without a database never needs
UNREACHABLE = "postgresql+psycopg://nobody:nothing@127.0.0.1:1/none"  # no database answers here


def verify_receipt(path: Path, *args: str) -> subprocess.CompletedProcess:
    """`renkei verify-receipt PATH` in a fresh process with no reachable database and no other setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    env["RENKEI_DATABASE_URL"] = UNREACHABLE
    code = ("import sys\nfrom admin.cli import main\ntry:\n    main(sys.argv[1:])\nfinally:\n"
            f"    loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "    assert not loaded, f'verify-receipt imported {loaded}'\n")
    return subprocess.run([sys.executable, "-c", code, "verify-receipt", str(path), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture
def sealed(app, db, story, tmp_path, monkeypatch):  # noqa: F811 (the fixture imported above)
    """The story's chains sealed by a signed checkpoint of each, in a checkpoint folder of the test's own."""
    from maintenance import check, signing
    from residents.consent.linkage import verify_chains

    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    with app.app_context():
        written = check.write_consent_checkpoints(verify_chains(db), signing.signer(app.config), tmp_path / "checkpoints",
                                                  database=signing.database_identity(app.config))
    db.rollback()
    assert {name for name, _seq, _path in written} == {"consent_record", "linkage_record"}
    return story


def download(client, tmp_path: Path, name: str = "my-data.json") -> tuple[Path, dict]:
    answer = client.get("/portal/data.json")
    assert answer.status_code == 200
    path = tmp_path / name
    path.write_bytes(answer.get_data())
    return path, json.loads(answer.get_data(as_text=True))


def tampered(tmp_path: Path, data: dict, change, name: str) -> Path:
    copy = json.loads(json.dumps(data))
    change(copy)
    path = tmp_path / name
    path.write_text(json.dumps(copy, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def covered(proof: dict, field: str) -> dict:
    return next(entry for entry in proof["covered"] if entry["field"] == field)


def one_character(text: str, at: int = 0) -> str:
    """``text`` with the character at ``at`` replaced by another (a hex digit by another hex digit)."""
    old = text[at]
    new = {"0": "1"}.get(old, "0") if old in "0123456789abcdef" else ("民" if old != "民" else "氏")
    return text[:at] + new + text[at + 1:]


@pytest.mark.database
def test_the_resident_s_download_verifies_and_a_changed_item_previous_hash_or_signature_is_named(
        app, client, db, sealed, tmp_path):
    signed_in(client, sealed["me"])
    path, data = download(client, tmp_path)
    records = len(data["consents"]) + len(data["linkages"])
    assert records == 2 + 3 and all(row["proof"]["checkpoint"] for row in data["consents"] + data["linkages"])
    assert all(row["proof"]["hash"] == row["record_hash"] for row in data["consents"] + data["linkages"])

    valid = verify_receipt(path)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert f"この控えは有効です: {records} 件の記録がすべて一致しました。" in valid.stdout
    assert f"This receipt is valid: all {records} record(s) match." in valid.stdout
    assert "/portal/signing-keys/" in valid.stdout  # where to compare the key's fingerprint

    def change_item(copy):
        entry = covered(copy["linkages"][0]["proof"], "items")
        entry["value"] = entry["value"].replace("氏名", "民名")  # one character: 氏名 → 民名
    refused = verify_receipt(tampered(tmp_path, data, change_item, "item.json"))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "項目 データ項目（items）: ハッシュ値が一致しません" in refused.stdout
    assert "item data items (items): the hash does not match" in refused.stdout
    assert f"This receipt is NOT valid: 1 of {records} record(s) do not match." in refused.stdout

    def change_previous(copy):
        proof = copy["consents"][1]["proof"]
        proof["prev_hash"] = one_character(proof["prev_hash"], 10)
    refused = verify_receipt(tampered(tmp_path, data, change_previous, "previous.json"))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "前の記録のハッシュ値（prev_hash）: ハッシュ値が一致しません" in refused.stdout
    assert "the previous record's hash (prev_hash): the hash does not match" in refused.stdout
    assert "item " not in refused.stdout  # no field is blamed for it

    checkpoint = data["linkages"][0]["proof"]["checkpoint"]
    named = f"checkpoint linkage_record #{checkpoint['seq']} ({checkpoint['at']})"

    def change_signature(copy):
        signature = copy["linkages"][0]["proof"]["checkpoint"]["signature"]
        signature["value"] = ("B" if signature["value"][0] != "B" else "C") + signature["value"][1:]
    refused = verify_receipt(tampered(tmp_path, data, change_signature, "signature.json"))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"{named}: " in refused.stdout and "the signature does not match" in refused.stdout
    assert f"チェックポイント linkage_record #{checkpoint['seq']}" in refused.stdout and "署名が一致しません" in refused.stdout


@pytest.mark.database
def test_a_receipt_from_the_console_verifies_against_the_trusted_key_and_not_against_another(
        app, client, db, sealed, tmp_path):
    from core.signing import generate_key
    from residents.consent.models import ConsentRecord
    import sqlalchemy as sa

    record = db.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.seq.desc())).first()
    sign_in(client)
    answer = client.get(f"/admin/consent/receipt/{record.receipt_id}.json")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    path = tmp_path / "receipt.json"
    path.write_bytes(answer.get_data())
    receipt = json.loads(answer.get_data(as_text=True))
    assert receipt["record_hash"] == record.hash and receipt["proof"]["prev_hash"] == record.prev_hash
    assert covered(receipt["proof"], "receipt_id")["value"] == record.receipt_id

    trusted = Path(app.config["RENKEI_VAR_DIR"]) / "signing"
    valid = verify_receipt(path, "--trusted-keys", str(trusted))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert "This receipt is valid: all 1 record(s) match." in valid.stdout

    generate_key(tmp_path / "other" / "key.pem", tmp_path / "other")  # a key the platform never signed with
    refused = verify_receipt(path, "--trusted-keys", str(tmp_path / "other"))
    assert refused.returncode == 1
    assert f"checkpoint consent_record #{receipt['proof']['checkpoint']['seq']}" in refused.stdout
    assert "not among the trusted public keys" in refused.stdout

    page = client.get(f"/admin/consent/receipt/{record.receipt_id}").get_data(as_text=True)
    assert "前の記録のハッシュ値" in page and record.prev_hash in page and "最新の署名付きチェックポイント" in page
    key_id = receipt["proof"]["signing_key"]["key_id"]
    published = client.get(f"/portal/signing-keys/{key_id}.pub")
    assert published.status_code == 200 and published.get_data(as_text=True) == receipt["proof"]["signing_key"]["public_key_pem"]
    assert client.get("/portal/signing-keys/0000000000000000.pub").status_code == 404
