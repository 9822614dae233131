"""Backup archives: one tar file with the database, the Keycloak realm, the audit chain head and a manifest.

Members (format ``renkei-backup/1``)::

    manifest.json          what the archive holds: versions, row counts per table, ledger totals
                           per fiscal year, the audit chain head, the realm's counts, and the
                           sha256 and size of every other member
    manifest.sha256        the sha256 of manifest.json (so a damaged manifest is noticed too)
    manifest.sig           the Ed25519 signature of manifest.json (:mod:`core.signing`) by the
                           operator's signing key, kept apart from the backup store: whoever can
                           write the store but not the key cannot make an archive that restores
    database.pgdump        PostgreSQL: pg_dump's custom format (restored with pg_restore)
    database.sqlite3       SQLite: a copy made with SQLite's online backup API
    keycloak-realm.json    the realm: Keycloak's own full export (users' credentials and the realm's
                           keys included) or the REST copy (credentials not included); the
                           manifest's ``realm.credentials`` says which (tenancy.identity.realm_copy)
    keycloak-residents-realm.json
                           the residents' realm (RENKEI_RESIDENTS_REALM, issue 42) when it is set up,
                           copied the same way: its identity providers and the residents' links to
                           them (manifest ``residents_realm``); restored with the realm
    audit-head.json        the audit chain head at the time of the backup (seq and hash)

The row counts, totals and head are read in the same snapshot as the database copy (PostgreSQL:
an exported snapshot that pg_dump uses; SQLite: read from the copy itself), so they describe
exactly what the archive holds even while the platform keeps running. The manifest also carries a
signed checkpoint (:mod:`core.checkpoints`) of the audit chain and of each consent and linkage
chain (``chain_heads``: their heads and anchors), which ``renkei check`` reads back.

The archive is written with mode 0600 (it holds password hashes, the realm's keys and client
secrets) and a folder renkei creates for it with 0700. ``restore`` verifies the signature against
the trusted public keys before anything is written; an unsigned archive (made before signing) is
restored only when the operator says so (``accept_unsigned``), and the restore's audit record says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from core import audit as core_audit
from core import authz, chain, checkpoints, signing
from core.actor import Actor
from core.audit import AuditAnchor, AuditChainHead, AuditRecord
from core.chain_archive import file_sha256
from core.errors import Conflict, Invalid, Unavailable

FORMAT = "renkei-backup/1"
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
MANIFEST_SIG = "manifest.sig"
DB_PG = "database.pgdump"
DB_SQLITE = "database.sqlite3"
REALM = "keycloak-realm.json"
RESIDENTS_REALM = "keycloak-residents-realm.json"
AUDIT_HEAD = "audit-head.json"
MEMBERS = (MANIFEST, MANIFEST_SUM, MANIFEST_SIG, DB_PG, DB_SQLITE, REALM, RESIDENTS_REALM, AUDIT_HEAD)


class ArchiveRefused(Conflict):
    """The archive is damaged, of another version, or does not fit the target: nothing was restored."""


# --- versions ---------------------------------------------------------------------------------------

def migrations_dir() -> Path:
    """The Alembic migrations of this code: the shell's folder ``admin/migrations`` (package data; read
    as files, never imported), the one place ``renkei db``, the health check and archives find them."""
    return Path(__file__).resolve().parent.parent / "admin" / "migrations"


def migration_head() -> str:
    """The newest migration revision of this code (what ``renkei db upgrade`` brings a database to)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    heads = ScriptDirectory.from_config(config).get_heads()
    return ",".join(sorted(heads))


def renkei_version() -> str:
    try:
        return metadata.version("renkei")
    except metadata.PackageNotFoundError:
        return "unknown"


def database_revision(connection: sa.Connection) -> str | None:
    """The revision Alembic recorded in the database, or None (a schema built by ``create_all``)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return ",".join(sorted(connection.scalars(sa.text("SELECT version_num FROM alembic_version"))))


# --- what a database holds ----------------------------------------------------------------------------

def table_names() -> list[str]:
    return [table.name for table in SQLModel.metadata.sorted_tables]


def table_counts(connection: sa.Connection) -> dict[str, int]:
    """Rows per table of renkei's metadata (tables missing from the database count as absent)."""
    present = set(sa.inspect(connection).get_table_names())
    return {name: int(connection.scalar(sa.text(f'SELECT count(*) FROM "{name}"')))
            for name in sorted(table_names()) if name in present}


def audit_head(connection: sa.Connection) -> dict[str, Any]:
    row = connection.execute(sa.select(AuditChainHead.last_seq, AuditChainHead.last_hash)
                             .where(AuditChainHead.id == 1)).first()
    return {"seq": int(row[0]), "hash": row[1]} if row else {"seq": 0, "hash": core_audit.GENESIS_HASH}


def audit_anchor(connection: sa.Connection) -> tuple[int, str]:
    """Where the chain in the database starts (the purge anchor, or the genesis)."""
    row = connection.execute(sa.select(AuditAnchor.purged_through_seq, AuditAnchor.purged_through_hash)
                             .where(AuditAnchor.id == 1)).first()
    return (int(row[0]), row[1]) if row else (0, core_audit.GENESIS_HASH)


def chain_heads(connection: sa.Connection) -> dict[str, dict[str, Any]]:
    """The head and anchor of every chain of :class:`core.chain.ChainHead` (the consent and linkage
    records'), by name: ``{"seq", "hash", "anchor": [seq, hash]}`` (none in a schema without them)."""
    if not {"chain_head", "chain_anchor"} <= set(sa.inspect(connection).get_table_names()):
        return {}
    anchors = {row.name: (int(row.purged_through_seq), row.purged_through_hash) for row in connection.execute(
        sa.select(chain.ChainAnchor.name, chain.ChainAnchor.purged_through_seq, chain.ChainAnchor.purged_through_hash))}
    heads = {row.name: {"seq": int(row.last_seq), "hash": row.last_hash,
                        "anchor": list(anchors.get(row.name, (0, chain.GENESIS_HASH)))}
             for row in connection.execute(sa.select(chain.ChainHead.name, chain.ChainHead.last_seq, chain.ChainHead.last_hash))}
    for name, anchor in anchors.items():  # a chain purged to its end keeps its anchor
        heads.setdefault(name, {"seq": anchor[0], "hash": anchor[1], "anchor": list(anchor)})
    return dict(sorted(heads.items()))


def audit_records_through(connection: sa.Connection, seq: int) -> int:
    return int(connection.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.seq <= seq)))


def describe_database(connection: sa.Connection, actor: Actor) -> dict[str, Any]:
    """Counts, ledger totals and the audit head, read through ``connection``."""
    from billing import integrity

    session = Session(bind=connection)
    try:
        totals = integrity.ledger_totals(session, actor)
    finally:
        session.close()
    return {"tables": table_counts(connection), "ledger_totals": totals, "audit_head": audit_head(connection),
            "audit_anchor": audit_anchor(connection), "chain_heads": chain_heads(connection)}


def is_empty(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return not sa.inspect(connection).get_table_names()


# --- PostgreSQL tools ---------------------------------------------------------------------------------

def pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: from RENKEI_PG_BIN, else PATH, else the newest /usr/lib/postgresql/*/bin."""
    folder = os.environ.get("RENKEI_PG_BIN")
    if folder and (Path(folder) / name).exists():
        return str(Path(folder) / name)
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if candidates:
        return str(candidates[-1])
    found = shutil.which(name)
    if found:
        return found
    raise Unavailable(f"{name} was not found: install the PostgreSQL client or set RENKEI_PG_BIN.",
                      f"{name} が見つかりません。PostgreSQL のクライアントを導入するか RENKEI_PG_BIN を設定してください。")


def _libpq(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore (the password in the environment, not the command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432), "--username", url.username or "",
            "--dbname", url.database or ""]
    return args, env


def _run(command: list[str], env: dict[str, str], what_en: str, what_ja: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        tail = " | ".join(detail[-3:])
        raise Unavailable(f"{what_en} failed: {tail}", f"{what_ja}に失敗しました: {tail}")


# --- writing an archive -------------------------------------------------------------------------------

@contextlib.contextmanager
def _snapshot_dump(engine: sa.Engine, target: Path) -> Iterator[sa.Connection]:
    """Dump the database into ``target`` and yield a connection that sees the same data."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
                args, env = _libpq(engine.url)
                _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                      "--file", str(target), *args], env, "pg_dump", "データベースの書き出し（pg_dump）")
                yield connection
        return
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(engine.url.database)
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
        snapshot_engine = sa.create_engine(f"sqlite:///{target}")
        try:
            with snapshot_engine.connect() as connection:
                yield connection
        finally:
            snapshot_engine.dispose()
        return
    raise Invalid(f"backup supports PostgreSQL and SQLite, not {engine.dialect.name}",
                  f"バックアップは PostgreSQL と SQLite のみに対応しています（{engine.dialect.name}）。")


def _copy_realm(work: Path, member: str, realm: str, realm_export, realm_admin, *,
                residents: bool = False) -> dict[str, Any]:
    """Write the copy of ``realm`` to ``work / member`` (Keycloak's export through ``realm_export``, else the
    REST copy through ``realm_admin``); the manifest's description of it. The residents' realm's copy holds
    no 基本4情報 (issue 50): any an account still carries (an earlier version stored them) is left out."""
    from tenancy.identity import realm_copy

    if realm_export is not None:
        realm_export(work / "kc-export.json")
        try:
            exported = json.loads((work / "kc-export.json").read_text(encoding="utf-8"))
            copy = realm_copy.wrap_export(exported, realm)
        except ValueError as error:
            raise Invalid(f"the Keycloak export cannot be used: {error}",
                          f"Keycloak のエクスポートを使えません: {error}") from None
        (work / "kc-export.json").unlink()
    else:
        copy = realm_copy.export_realm(realm_admin, realm)
    stripped = None
    if residents:
        from tenancy.identity.keycloak.residents_realm import PROFILE_FIELDS, STORED_CLAIM_ATTRIBUTES

        stripped = realm_copy.strip_user_items(copy, STORED_CLAIM_ATTRIBUTES, PROFILE_FIELDS)
    (work / member).write_text(json.dumps(copy, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return {"name": realm, "counts": realm_copy.summary(copy), "format": copy["format"],
            "credentials": realm_copy.carries_credentials(copy),
            **({"accounts_with_items_left_out": stripped} if residents else {})}


def write_backup(session: Session, actor: Actor, output: Path, *, signer: signing.Signer, realm_admin=None,
                 realm: str | None = None, realm_export=None, residents_realm: str | None = None,
                 residents_export=None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Write the archive to ``output`` (atomically: a ``.partial`` file renamed at the end); returns its manifest.

    The backup is recorded in the audit log (and committed) first, so the archive holds its own record.
    ``realm_export``, a callable writing Keycloak's full export of ``realm`` to the path it is given
    (``kc.sh export``, or copying a file the operator made), puts that export in the archive
    (``credentials: included``); else ``realm_admin``, a Keycloak admin client that may read
    ``realm``, makes the REST copy (``credentials: not included``); with neither the archive holds
    no realm (and says so). ``residents_realm`` (the residents' realm, issue 42), when ``realm_admin``
    finds it, goes in beside it, through ``residents_export`` or the REST copy. ``signer`` signs the
    manifest and the audit checkpoint in it.
    """
    from tenancy.identity import realm_copy

    authz.authorize(actor, "system.backup")
    now = now or dt.datetime.now(dt.timezone.utc)
    engine = session.get_bind()
    kind = engine.dialect.name
    core_audit.record(session, actor, "system.backup", "backup", output.name,
                      after={"file": output.name, "database": kind,
                             "realm": realm if realm_admin is not None or realm_export is not None else None})
    session.commit()
    signing.private_dir(output.parent)
    with tempfile.TemporaryDirectory(prefix="renkei-backup-", dir=output.parent) as tmp:
        work = Path(tmp)
        db_member = DB_PG if kind == "postgresql" else DB_SQLITE
        with _snapshot_dump(engine, work / db_member) as connection:
            described = describe_database(connection, actor)
            revision = database_revision(connection)
        members = [db_member]
        realm_info: dict[str, Any] | None = None
        keycloak_version = None
        if realm and (realm_export is not None or realm_admin is not None):
            realm_info = _copy_realm(work, REALM, realm, realm_export, realm_admin)
            if realm_admin is not None:
                keycloak_version = realm_copy.server_version(realm_admin)
            members.append(REALM)
        residents_info: dict[str, Any] | None = None
        if residents_realm and realm_admin is not None and realm_copy.realm_exists(realm_admin, residents_realm):
            residents_info = _copy_realm(work, RESIDENTS_REALM, residents_realm, residents_export, realm_admin,
                                         residents=True)
            copied = json.loads((work / RESIDENTS_REALM).read_text(encoding="utf-8"))
            residents_info["identity_providers"] = sorted(
                provider["alias"] for provider in copied["representation"].get("identityProviders") or [])
            residents_info["providers_without_secret"] = realm_copy.providers_without_secret(copied)
            members.append(RESIDENTS_REALM)
        (work / AUDIT_HEAD).write_text(json.dumps(described["audit_head"], indent=1) + "\n", encoding="utf-8")
        members.append(AUDIT_HEAD)
        manifest = {
            "format": FORMAT,
            "created_at": now.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
            "created_by": actor.name,
            "database": kind,
            "versions": {"renkei": renkei_version(), "migration_head": migration_head(),
                         "database_revision": revision, "keycloak": keycloak_version},
            "tables": described["tables"],
            "ledger_totals": described["ledger_totals"],
            "audit_head": described["audit_head"],
            "chain_heads": described["chain_heads"],
            # the heads as signed checkpoints, read back by `renkei check` (maintenance.signing):
            # the audit log's, then the consent and linkage records' (core.chain)
            "checkpoints": [checkpoints.document("audit", described["audit_head"]["seq"], described["audit_head"]["hash"],
                                                now, signer, anchor=described["audit_anchor"]),
                            *(checkpoints.document(name, head["seq"], head["hash"], now, signer, anchor=tuple(head["anchor"]))
                              for name, head in described["chain_heads"].items())],
            "realm": realm_info,
            "residents_realm": residents_info,
            "members": {name: {"sha256": file_sha256(work / name), "size": (work / name).stat().st_size}
                        for name in members},
        }
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8") + b"\n"
        (work / MANIFEST).write_bytes(manifest_bytes)
        (work / MANIFEST_SUM).write_text(hashlib.sha256(manifest_bytes).hexdigest() + "  " + MANIFEST + "\n")
        (work / MANIFEST_SIG).write_text(json.dumps(signer.sign(manifest_bytes), indent=1) + "\n")
        partial = output.with_name(output.name + ".partial")
        partial.unlink(missing_ok=True)
        with signing.open_private(partial) as handle:  # 0600 from the first byte
            with tarfile.open(fileobj=handle, mode="w") as tar:
                for name in (MANIFEST, MANIFEST_SUM, MANIFEST_SIG, *members):
                    tar.add(work / name, arcname=name)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(output)
    return manifest


# --- reading an archive -------------------------------------------------------------------------------

def _refuse(en: str, ja: str) -> ArchiveRefused:
    return ArchiveRefused(en, ja)


def check_signature(name: str, manifest_bytes: bytes, signature_text: str | None, trusted: dict, *,
                    accept_unsigned: bool = False) -> str | None:
    """The id of the trusted key that signed the manifest; None for an unsigned archive accepted
    with ``accept_unsigned``. A wrong signature is refused even then."""
    if signature_text is None:
        if accept_unsigned:
            return None
        raise signing.SignatureRefused(
            f"{name} is not signed: an unsigned archive is restored only with --accept-unsigned (a deliberate "
            "migration of an archive made before backups were signed; docs/operations.md)",
            f"{name} には署名がありません。署名のないアーカイブは --accept-unsigned を付けた場合のみ復元します"
            "（署名導入前のアーカイブの意図的な移行。docs/operations.md 参照）。")
    try:
        signature = json.loads(signature_text)
    except ValueError:
        signature = None
    return signing.verify(manifest_bytes, signature, trusted, f"the manifest of {name}", f"{name} のマニフェスト")


def signing_era(manifest: dict[str, Any]) -> bool:
    """Whether the manifest proves it was made by a renkei that signs its backups: such a renkei
    puts signed checkpoints in every manifest (an archive from before signing has none)."""
    return any(isinstance(data, dict) and "signature" in data for data in manifest.get("checkpoints") or [])


def read_signed_manifest(path: Path, trusted: dict) -> tuple[dict[str, Any], str]:
    """The manifest of an archive and the key that signed it, reading only those two members
    (:class:`core.signing.SignatureRefused` when unsigned or not signed by a trusted key)."""
    try:
        with tarfile.open(path, "r") as tar:
            members = {member.name: member for member in tar.getmembers() if member.isfile()}
            if MANIFEST not in members:
                raise _refuse(f"{path.name} has no manifest", f"{path.name} にマニフェストがありません。")
            manifest_bytes = tar.extractfile(members[MANIFEST]).read()
            signature = tar.extractfile(members[MANIFEST_SIG]).read().decode("utf-8", "replace") \
                if MANIFEST_SIG in members else None
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _refuse(f"{path.name} cannot be read as a backup archive: {error}",
                      f"{path.name} をバックアップとして読めません: {error}") from None
    key = check_signature(path.name, manifest_bytes, signature, trusted)
    return json.loads(manifest_bytes), key


def open_archive(path: Path, into: Path, *, trusted: dict, accept_unsigned: bool = False) -> tuple[dict[str, Any], str | None]:
    """Unpack ``path`` into ``into`` and verify the manifest's signature and every checksum; returns
    the manifest and the id of the key that signed it (None: unsigned, accepted), or refuses."""
    try:
        with tarfile.open(path, "r") as tar:
            names = tar.getnames()
            unknown = sorted(set(names) - set(MEMBERS))
            if unknown:
                raise _refuse(f"{path.name} is not a renkei backup: unexpected member {unknown[0]}",
                              f"{path.name} は renkei のバックアップではありません（想定外のファイル {unknown[0]}）。")
            for member in tar.getmembers():
                if not member.isfile():
                    raise _refuse(f"{path.name}: member {member.name} is not a plain file",
                                  f"{path.name}: {member.name} が通常のファイルではありません。")
                with tar.extractfile(member) as source, (into / member.name).open("wb") as target:
                    shutil.copyfileobj(source, target)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _refuse(f"{path.name} cannot be read as a backup archive (damaged or truncated: {error})",
                      f"{path.name} をバックアップとして読めません（破損または途中で切れています: {error}）。") from None
    if not (into / MANIFEST).exists() or not (into / MANIFEST_SUM).exists():
        raise _refuse(f"{path.name} has no manifest: not a complete renkei backup",
                      f"{path.name} にマニフェストがありません。完全なバックアップではありません。")
    expected = (into / MANIFEST_SUM).read_text().split()[0] if (into / MANIFEST_SUM).read_text().split() else ""
    if file_sha256(into / MANIFEST) != expected:
        raise _refuse(f"{path.name} is damaged: the manifest's checksum does not match",
                      f"{path.name} は破損しています（マニフェストのチェックサムが一致しません）。")
    signature = (into / MANIFEST_SIG).read_text(encoding="utf-8", errors="replace") if (into / MANIFEST_SIG).exists() else None
    signed_by = check_signature(path.name, (into / MANIFEST).read_bytes(), signature, trusted, accept_unsigned=accept_unsigned)
    try:
        manifest = json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except ValueError:
        raise _refuse(f"{path.name}: the manifest is not JSON", f"{path.name}: マニフェストを読めません。") from None
    if manifest.get("format") != FORMAT:
        raise _refuse(f"{path.name} is of format {manifest.get('format')!r}; this renkei reads {FORMAT}",
                      f"{path.name} の形式 {manifest.get('format')!r} はこの renkei では読めません（{FORMAT}）。")
    if signed_by is None and signing_era(manifest):
        raise signing.SignatureRefused(
            f"{path.name} has no signature but its manifest carries signed checkpoints: it was made by a renkei that "
            "signs its backups, so its signature was removed; --accept-unsigned is only for archives made before signing",
            f"{path.name} には署名がありませんが、マニフェストに署名付きチェックポイントがあります。署名する版の renkei で"
            "作成されたもので、署名が取り除かれています。--accept-unsigned は署名導入前のアーカイブにのみ使えます。")
    for name, info in sorted((manifest.get("members") or {}).items()):
        if name not in MEMBERS or not (into / name).exists():
            raise _refuse(f"{path.name} is damaged: member {name} is missing",
                          f"{path.name} は破損しています（{name} がありません）。")
        if file_sha256(into / name) != info.get("sha256"):
            raise _refuse(f"{path.name} is damaged: the checksum of {name} does not match the manifest",
                          f"{path.name} は破損しています（{name} のチェックサムがマニフェストと一致しません）。")
    return manifest, signed_by


def check_compatible(manifest: dict[str, Any], engine: sa.Engine) -> None:
    """Refuse an archive made by another schema version or for another kind of database."""
    head = migration_head()
    theirs = (manifest.get("versions") or {}).get("migration_head")
    if theirs != head:
        raise _refuse(
            f"the backup was made at migration {theirs} but this renkei is at {head}: restore it with the renkei "
            f"version that made it ({(manifest.get('versions') or {}).get('renkei')}), then upgrade",
            f"バックアップのスキーマ（マイグレーション {theirs}）がこの renkei（{head}）と一致しません。"
            f"作成した版（{(manifest.get('versions') or {}).get('renkei')}）で復元してから更新してください。")
    if manifest.get("database") != engine.dialect.name:
        raise _refuse(f"the backup is of a {manifest.get('database')} database; the target is {engine.dialect.name}",
                      f"バックアップは {manifest.get('database')} のものです。復元先は {engine.dialect.name} です。")


def read_manifest(path: Path, trusted: dict) -> dict[str, Any]:
    """The manifest of an archive (signature and checksums verified) or of a plain ``manifest.json``
    file with its ``manifest.sig`` beside it."""
    if tarfile.is_tarfile(path):
        with tempfile.TemporaryDirectory(prefix="renkei-manifest-") as tmp:
            return open_archive(path, Path(tmp), trusted=trusted)[0]
    sig = path.with_name(MANIFEST_SIG)
    try:
        check_signature(path.name, path.read_bytes(), sig.read_text(encoding="utf-8") if sig.exists() else None, trusted)
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise Invalid(f"{path.name} is neither a backup archive nor a manifest: {error}",
                      f"{path.name} はバックアップでもマニフェストでもありません。") from None
    if manifest.get("format") != FORMAT:
        raise Invalid(f"{path.name} is not a renkei backup manifest", f"{path.name} は renkei のマニフェストではありません。")
    return manifest


# --- restoring ----------------------------------------------------------------------------------------

def restore_database(engine: sa.Engine, manifest: dict[str, Any], folder: Path) -> None:
    if engine.dialect.name == "postgresql":
        args, env = _libpq(engine.url)
        _run([pg_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", *args,
              str(folder / DB_PG)], env, "pg_restore", "データベースの復元（pg_restore）")
        return
    engine.dispose()
    source = sqlite3.connect(folder / DB_SQLITE)
    try:
        target = sqlite3.connect(engine.url.database)
        with target:
            source.backup(target)
        target.close()
    finally:
        source.close()


@dataclasses.dataclass(frozen=True)
class RealmStep:
    """One Keycloak realm to recreate from the archive: ``name`` (replaced if it exists) from ``copy``."""

    name: str
    copy: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RestorePlan:
    """What a restore will do, decided (every refusal checked) before anything is written.

    ``realms`` come back first, in order (the platform's realm, then the residents'), then the
    database (``database``), then the application role's rights (``grant_to``).
    """

    manifest: dict[str, Any]
    signed_by: str | None
    realms: tuple[RealmStep, ...]
    database: bool
    grant_to: str | None
    realm: str | None  # what the audit record names: the realm (and the residents' realm) the archive's copies became
    residents_realm: str | None
    realm_credentials: bool

    def audit_after(self, file_name: str) -> dict[str, Any]:
        return {"file": file_name, "created_at": self.manifest.get("created_at"),
                "audit_head": self.manifest.get("audit_head"), "realm": self.realm,
                "residents_realm": self.residents_realm, "realm_credentials": self.realm_credentials,
                "signed_by": self.signed_by, "accepted_unsigned": self.signed_by is None,
                **({} if self.database else {"database": "not restored (realm only)"})}


def _refuse_target(engine: sa.Engine, path: Path, folder: Path, *, realm_admin, database: bool) -> None:
    """Refuse a realm-only restore without a realm to restore, and a database restore into a database that is not empty."""
    if not database and (realm_admin is None or not (folder / REALM).exists()):
        raise _refuse(f"{path.name} holds no realm to restore" if realm_admin is not None else
                      "a realm-only restore needs the realm (leave --no-realm out)",
                      f"{path.name} に復元するレルムがありません。" if realm_admin is not None else
                      "レルムのみの復元では --no-realm は指定できません。")
    if database and not is_empty(engine):
        raise _refuse("the target database is not empty: restore only into an empty database (see docs/operations.md)",
                      "復元先のデータベースが空ではありません。空のデータベースにのみ復元できます（docs/operations.md 参照）。")


def _realm_copy(folder: Path, member: str, present: bool) -> dict[str, Any] | None:
    return json.loads((folder / member).read_text(encoding="utf-8")) if present else None


@dataclasses.dataclass(frozen=True)
class _RealmCopies:
    """The archive's realm copies a restore recreates, and the names they take."""

    copy: dict[str, Any] | None  # the platform's realm (None: not restored)
    name: str | None
    residents_copy: dict[str, Any] | None  # the residents' realm (None: not restored)
    residents_name: str | None

    @property
    def steps(self) -> tuple[RealmStep, ...]:
        pairs = ((self.name, self.copy), (self.residents_name, self.residents_copy))
        return tuple(RealmStep(name, copied) for name, copied in pairs if name and copied is not None)


def _realm_copies(folder: Path, *, realm_admin, realm: str | None, residents_realm: str | None) -> _RealmCopies:
    with_realm = realm_admin is not None and (folder / REALM).exists()
    copy = _realm_copy(folder, REALM, with_realm)
    residents_copy = _realm_copy(folder, RESIDENTS_REALM, with_realm and (folder / RESIDENTS_REALM).exists())
    return _RealmCopies(copy, realm or (copy or {}).get("realm"),
                        residents_copy, residents_realm or (residents_copy or {}).get("realm"))


def _plan_realms(folder: Path, *, realm_admin, realm: str | None, residents_realm: str | None,
                 replace_realm: bool) -> tuple[tuple[RealmStep, ...], str | None, str | None, bool]:
    """The realms to recreate (refused if one exists, unless ``replace_realm``), the names the audit
    record gives them and whether the copy carries credentials."""
    from tenancy.identity import realm_copy

    copies = _realm_copies(folder, realm_admin=realm_admin, realm=realm, residents_realm=residents_realm)
    for step in copies.steps:
        if realm_copy.realm_exists(realm_admin, step.name) and not replace_realm:
            raise _refuse(f"the Keycloak realm {step.name} exists: delete it first or use --replace-realm",
                          f"Keycloak のレルム {step.name} がすでにあります。先に削除するか --replace-realm を指定してください。")
    with_realm, with_residents = copies.copy is not None, copies.residents_copy is not None
    return (copies.steps, copies.name if with_realm else None, copies.residents_name if with_residents else None,
            bool(with_realm and realm_copy.carries_credentials(copies.copy)))


def plan_restore(engine: sa.Engine, path: Path, folder: Path, *, trusted: dict, accept_unsigned: bool = False,
                 realm_admin=None, realm: str | None = None, replace_realm: bool = False,
                 app_role: str | None = None, database: bool = True, residents_realm: str | None = None) -> RestorePlan:
    """Open the archive into ``folder`` and decide the restore, refusing before anything is written
    (the refusals and their order: see :func:`restore`)."""
    manifest, signed_by = open_archive(path, folder, trusted=trusted, accept_unsigned=accept_unsigned)
    check_compatible(manifest, engine)
    _refuse_target(engine, path, folder, realm_admin=realm_admin, database=database)
    steps, realm_named, residents_named, credentials = _plan_realms(
        folder, realm_admin=realm_admin, realm=realm, residents_realm=residents_realm, replace_realm=replace_realm)
    return RestorePlan(manifest=manifest, signed_by=signed_by, realms=steps, database=database,
                       grant_to=app_role if database and engine.dialect.name == "postgresql" else None,
                       realm=realm_named, residents_realm=residents_named, realm_credentials=credentials)


def execute_restore(engine: sa.Engine, plan: RestorePlan, folder: Path, realm_admin=None) -> None:
    """Carry out ``plan`` from the archive opened in ``folder``."""
    from tenancy.identity import realm_copy

    # The realms first: if the database then fails (one transaction: it stays empty), running
    # the restore again with --replace-realm starts from the same state.
    for step in plan.realms:
        if realm_copy.realm_exists(realm_admin, step.name):
            realm_copy.delete_realm(realm_admin, step.name)
        realm_copy.import_realm(realm_admin, step.copy, step.name)
    if plan.database:
        restore_database(engine, plan.manifest, folder)
    if plan.grant_to:
        from maintenance.db_roles import grant_app_role

        with engine.begin() as connection:  # the dump carries no privileges (--no-acl): grant them again
            grant_app_role(connection, plan.grant_to)


def restore(session: Session, actor: Actor, path: Path, *, trusted: dict, accept_unsigned: bool = False,
            realm_admin=None, realm: str | None = None, replace_realm: bool = False,
            app_role: str | None = None, database: bool = True, residents_realm: str | None = None) -> dict[str, Any]:
    """Restore an archive into the session's (empty) database and recreate the realm (and the residents'
    realm the archive holds, as ``residents_realm`` if given); audited.

    ``database=False`` recreates the realm alone, into a database restored before (with Keycloak
    down, the database comes back first under the maintenance identity, the realm once Keycloak runs).

    Every refusal comes before anything is written (:func:`plan_restore`, then :func:`execute_restore`):
    an archive not signed by a key in ``trusted`` (an unsigned one is let through only with
    ``accept_unsigned``, and the audit record says so), a damaged or mismatched archive, a database
    that is not empty, a realm that exists (unless ``replace_realm``). Run it as the schema owner;
    ``app_role`` (PostgreSQL) is then granted its rights again (the dump carries no privileges).
    """
    authz.authorize(actor, "system.backup")
    engine = session.get_bind()
    session.rollback()
    with tempfile.TemporaryDirectory(prefix="renkei-restore-") as tmp:
        folder = Path(tmp)
        plan = plan_restore(engine, path, folder, trusted=trusted, accept_unsigned=accept_unsigned,
                            realm_admin=realm_admin, realm=realm, replace_realm=replace_realm, app_role=app_role,
                            database=database, residents_realm=residents_realm)
        execute_restore(engine, plan, folder, realm_admin)
    session.close()
    core_audit.record(session, actor, "system.restore", "backup", path.name, after=plan.audit_after(path.name))
    session.commit()
    return plan.manifest
