"""Signed and private backups (issue 27): the manifest is signed with the operator's Ed25519 key;
`renkei restore` refuses an archive whose realm was given a role with the checksums recomputed, an
unsigned one (unless --accept-unsigned, audited) and one signed by an untrusted key, before it
writes anything to the database or Keycloak; archives and exports are 0600 in 0700 folders; a
rotated key keeps the old archives restorable while its public key stays trusted."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import signing
from tests.admin.test_backup import _rewrite, cli
from tests.conftest import own_realm


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _recompute(source: Path, target: Path, change) -> None:
    """What someone who can write the backup store does: change a member, then recompute its
    checksum in manifest.json and the manifest's own in manifest.sha256 (the signature stays)."""
    with tarfile.open(source) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    changed = {name: change(name, data) for name, data in members.items()}
    manifest = json.loads(changed["manifest.json"])
    for name, info in manifest["members"].items():
        info["sha256"], info["size"] = hashlib.sha256(changed[name]).hexdigest(), len(changed[name])
    changed["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"
    changed["manifest.sha256"] = (hashlib.sha256(changed["manifest.json"]).hexdigest() + "  manifest.json\n").encode()
    with tarfile.open(target, "w") as tar:
        for name, data in changed.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _counts(db) -> tuple[int, int]:
    db.expire_all()
    return (db.execute(sa.text("SELECT count(*) FROM audit_record")).scalar(),
            db.execute(sa.text("SELECT count(*) FROM tenant")).scalar())


def test_an_archive_and_the_folder_renkei_makes_for_it_are_private(app, db, tenant_factory, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_BACKUP_DIR", str(tmp_path / "store"))
    tenant_factory("431001")
    made = cli(app, "backup", "--no-realm")
    assert made.exit_code == 0, made.output
    archive_file = next((tmp_path / "store").glob("renkei-backup-*.tar"))
    assert (mode(archive_file), mode(tmp_path / "store")) == (0o600, 0o700)
    nested = tmp_path / "new" / "folder" / "nightly.tar"
    assert cli(app, "backup", "--no-realm", "--output", str(nested)).exit_code == 0
    assert (mode(nested), mode(nested.parent)) == (0o600, 0o700)
    assert "signed with key" in made.output


def test_an_audit_export_written_to_a_file_is_private(app, db, tenant_factory, tmp_path):
    tenant_factory("431001")
    target = tmp_path / "audit.csv"
    target.write_text("an older export")
    result = cli(app, "audit", "export", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert mode(target) == 0o600 and "tenant.create" in target.read_text(encoding="utf-8-sig") or "431001" in target.read_text(encoding="utf-8-sig")


def test_without_a_signing_key_no_archive_is_written(app, db, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_SIGNING_KEY", str(tmp_path / "none" / "signing-key.pem"))
    result = cli(app, "backup", "--no-realm", "--output", str(tmp_path / "b.tar"))
    assert result.exit_code == 1
    assert "renkei signing-key generate" in result.output
    assert not (tmp_path / "b.tar").exists()


@pytest.fixture
def made(app, db, tenant_factory, tmp_path):
    tenant_factory("431001")
    path = tmp_path / "nightly.tar"
    result = cli(app, "backup", "--no-realm", "--output", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_an_unsigned_archive_is_refused_before_anything_is_written(app, db, made, tmp_path):
    unsigned = tmp_path / "unsigned.tar"
    _rewrite(made, unsigned, lambda name, data: data)
    with tarfile.open(made) as old, tarfile.open(unsigned, "w") as new:
        for member in old.getmembers():
            if member.name != "manifest.sig":
                new.addfile(member, old.extractfile(member))
    before = _counts(db)
    result = cli(app, "restore", str(unsigned), "--no-realm", "--yes")
    assert result.exit_code == 1
    assert "is not signed" in result.output and "--accept-unsigned" in result.output
    assert "not empty" not in result.output  # refused for the signature, before the target was looked at
    assert _counts(db) == before


def test_a_wrong_signature_is_refused_even_with_accept_unsigned(app, db, made, tmp_path):
    other, _ = signing.generate_key(tmp_path / "other" / "key.pem", tmp_path / "other")  # a key nobody trusts

    def resign(name, data):
        if name != "manifest.sig":
            return data
        with tarfile.open(made) as tar:
            manifest_bytes = tar.extractfile("manifest.json").read()
        return json.dumps(other.sign(manifest_bytes)).encode()

    foreign = tmp_path / "foreign.tar"
    _rewrite(made, foreign, resign)
    result = cli(app, "restore", str(foreign), "--no-realm", "--yes", "--accept-unsigned")
    assert result.exit_code == 1
    assert "not among the trusted public keys" in result.output
    checked = cli(app, "check", "--manifest", str(foreign))
    assert checked.exit_code == 1 and "not among the trusted public keys" in checked.output


def _unsigned(source: Path, target: Path, *, before_signing: bool) -> None:
    """``source`` without its signature; ``before_signing``: also without the signed checkpoints
    that every manifest of a signing renkei carries (an archive as made before backups were signed)."""
    with tarfile.open(source) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name != "manifest.sig"}
    if before_signing:
        manifest = json.loads(members["manifest.json"])
        manifest.pop("checkpoints")
        members["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"
        members["manifest.sha256"] = (hashlib.sha256(members["manifest.json"]).hexdigest() + "  manifest.json\n").encode()
    with tarfile.open(target, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_accept_unsigned_refuses_an_archive_whose_manifest_proves_it_was_signed(app, db, made, tmp_path):
    """A signature stripped from an archive of the signing era (its manifest carries signed
    checkpoints) is not an archive from before signing: refused even with --accept-unsigned."""
    stripped = tmp_path / "stripped.tar"
    _unsigned(made, stripped, before_signing=False)
    before = _counts(db)
    result = cli(app, "restore", str(stripped), "--no-realm", "--yes", "--accept-unsigned")
    assert result.exit_code == 1
    assert "its signature was removed" in result.output and "not empty" not in result.output
    assert _counts(db) == before


def test_an_unsigned_archive_restores_with_accept_unsigned_and_the_audit_log_says_so(app, db, made, tmp_path):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("a restore into an empty SQLite database; PostgreSQL's restore is tests/test_restore_drill.py's")
    from admin import create_app
    from admin.extensions import db as database

    unsigned = tmp_path / "unsigned.tar"
    _unsigned(made, unsigned, before_signing=True)
    other = create_app({**{k: v for k, v in app.config.items() if k.startswith(("RENKEI_", "SECRET"))},
                        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'restored.db'}",
                        "RENKEI_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints")})
    with other.app_context():
        refused = other.test_cli_runner().invoke(args=["restore", str(unsigned), "--no-realm", "--yes", "--as", "unei"])
        assert refused.exit_code == 1
        assert not sa.inspect(database.engine).get_table_names()  # nothing written
        result = other.test_cli_runner().invoke(args=["restore", str(unsigned), "--no-realm", "--yes", "--accept-unsigned",
                                                      "--as", "unei"])
        assert result.exit_code == 0, result.output
        after = json.loads(database.session.execute(sa.text(
            "SELECT after FROM audit_record WHERE action = 'system.restore'")).scalar())
        assert after["accepted_unsigned"] is True and after["signed_by"] is None
        # the restore wrote a signed checkpoint of the restored chain, which check now compares with
        assert list((tmp_path / "checkpoints").glob("audit-checkpoint-*.json"))
        assert other.test_cli_runner().invoke(args=["check", "--as", "unei"]).exit_code == 0
        database.session.remove()
        database.engine.dispose()


def test_a_rotated_key_keeps_old_archives_valid_while_its_public_key_is_trusted(app, db, tenant_factory, tmp_path,
                                                                              monkeypatch):
    from maintenance import archive
    from maintenance.signing import trusted_keys

    keys = tmp_path / "keys"
    monkeypatch.setitem(app.config, "RENKEI_SIGNING_KEY", str(keys / "signing-key.pem"))
    tenant_factory("431001")
    first = cli(app, "signing-key", "generate")
    assert first.exit_code == 0, first.output
    assert mode(keys / "signing-key.pem") == 0o600 and mode(keys) == 0o700
    assert cli(app, "signing-key", "generate").exit_code == 1  # made once: not replaced by accident
    assert cli(app, "backup", "--no-realm", "--output", str(tmp_path / "old.tar")).exit_code == 0
    rotated = cli(app, "signing-key", "generate", "--replace")
    assert rotated.exit_code == 0, rotated.output
    assert cli(app, "backup", "--no-realm", "--output", str(tmp_path / "new.tar")).exit_code == 0
    with app.app_context():
        trusted = trusted_keys(app.config)
        old_key = archive.read_signed_manifest(tmp_path / "old.tar", trusted)[1]
        new_key = archive.read_signed_manifest(tmp_path / "new.tar", trusted)[1]
        assert old_key != new_key and {old_key, new_key} <= set(trusted)
        (keys / f"{old_key}.pub").unlink()  # the rotation is over: the old key is no longer trusted
        with pytest.raises(signing.SignatureRefused):
            archive.read_signed_manifest(tmp_path / "old.tar", trusted_keys(app.config))
    actions = db.execute(sa.text("SELECT count(*) FROM audit_record WHERE action = 'system.signing_key'")).scalar()
    assert actions == 2


@pytest.mark.keycloak
def test_a_realm_role_added_with_checksums_recomputed_is_refused_with_nothing_written(
        app, db, keycloak_server, tmp_path, monkeypatch):
    """The issue's attack: the auditor given platform-operator in the archive's realm file, the
    sha256 values recomputed. The signature does not match: nothing reaches the database or Keycloak."""
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import IdentityDirectory

    settings, master = own_realm(keycloak_server, "signed-backup")
    try:
        directory = IdentityDirectory(settings)
        auditor = directory.create_user("sb-auditor", "sb-auditor@example.jp", "監査", "花子", "Auditor-password-0123")
        directory.grant_roles(auditor, ["auditor"])
        for key, value in {"RENKEI_KEYCLOAK_URL": settings.url, "RENKEI_KEYCLOAK_REALM": settings.realm,
                           "RENKEI_KEYCLOAK_ADMIN_USER": keycloak_server.admin_user,
                           "RENKEI_KEYCLOAK_ADMIN_PASSWORD": keycloak_server.admin_password}.items():
            monkeypatch.setitem(app.config, key, value)
        made = tmp_path / "with-realm.tar"
        result = cli(app, "backup", "--output", str(made))
        assert result.exit_code == 0, result.output

        def promote(name, data):
            if name != "keycloak-realm.json":
                return data
            copy = json.loads(data)
            users = copy["representation"]["users"]
            target = next(user for user in users if user["username"] == "sb-auditor")
            target["realmRoles"] = [*target.get("realmRoles", []), "platform-operator"]
            return json.dumps(copy, ensure_ascii=False, indent=1, sort_keys=True).encode()

        tampered = tmp_path / "tampered.tar"
        _recompute(made, tampered, promote)
        realm_copy.delete_realm(master, settings.realm)  # what a restore would recreate
        before = _counts(db)
        refused = cli(app, "restore", str(tampered), "--replace-realm", "--yes")
        assert refused.exit_code == 1
        assert "signature does not match" in refused.output
        assert not realm_copy.realm_exists(master, settings.realm)  # Keycloak untouched
        assert _counts(db) == before  # the database untouched (not even the restore's audit record)
        # the same with --accept-unsigned: a signature that does not match is never accepted
        assert cli(app, "restore", str(tampered), "--replace-realm", "--yes", "--accept-unsigned").exit_code == 1
        assert not realm_copy.realm_exists(master, settings.realm)
    finally:
        realm_copy.delete_realm(master, settings.realm)
