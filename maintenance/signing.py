"""Where renkei's signing key, trusted public keys, checkpoints and backups are (settings), and the
newest audit checkpoint renkei can read from them (docs/operations.md, "Signed backups").

Settings (the app's config first, else the environment):

* ``RENKEI_SIGNING_KEY``: the Ed25519 private key file (default ``<RENKEI_VAR_DIR>/signing/signing-key.pem``).
  Keep it apart from the backup store: whoever can write both could sign a forged archive.
* ``RENKEI_TRUSTED_KEYS``: public keys trusted when verifying, files or folders of ``*.pub``
  separated by ``:`` (default: the signing key's folder). During a rotation both keys are there.
* ``RENKEI_AUDIT_CHECKPOINT_DIR``: the checkpoint folder (default ``<RENKEI_VAR_DIR>/audit-checkpoints``).
* ``RENKEI_CHECKPOINT_COPY_DIR``: a second folder every checkpoint is also written to, on storage the
  database owner cannot rewrite (another host's mount, a WORM or object-locked store); ``renkei
  check`` and the jobs read it too, so a chain cut or rewritten after the newest checkpoint left in
  the first folder is still found from the copy. Unset: no copy (production warns at start and
  ``renkei check`` fails naming the setting).
* ``RENKEI_BACKUP_DIR``: the backup store (default ``<RENKEI_VAR_DIR>/backups``).
* The purges' archives (:func:`archive_dirs`): the audit log's in ``RENKEI_AUDIT_ARCHIVE_DIR``
  (default ``<RENKEI_VAR_DIR>/audit-archive``), the linkage records' in ``RENKEI_LINKAGE_ARCHIVE_DIR``
  (default ``<RENKEI_VAR_DIR>/linkage-archive``); ``renkei check`` confirms each one a purge recorded.

The same key is the host owner's **maintenance identity** (:func:`maintenance_actor`): whoever can
use the private key (the operating-system user that owns renkei's files) may run the maintenance
commands (backup, check, the due jobs, restore, the realm's bootstrap and service accounts) without
Keycloak, so they work while Keycloak is down or lost; the audit log names that identity and the key.
The identity is believed only from a public key the **installation** put in ``RENKEI_TRUSTED_KEYS``
(:func:`installed_trusted_keys`), never from the signing key's own folder: whoever can write that
folder could put a key of their own there beside a private key of their own. Production without
``RENKEI_TRUSTED_KEYS`` refuses the maintenance identity, saying so; development and tests fall back
to the key's folder. The first key of an install is made by ``renkei signing-key init``
(:func:`first_key`), which needs no one signed in (docs/deployment.md, "Backups").
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core import authz, checkpoints, signing
from core.actor import Actor

AUDIT_CHAIN = "audit"
MAINTENANCE_ISSUER = "urn:renkei:maintenance"
Config = Mapping[str, Any]  # the application's configuration (admin.config), handed in by the shell


def _setting(config: Config, name: str) -> str:
    return config.get(name) or os.environ.get(name) or ""


def _var(config: Config) -> Path:
    return Path(config["RENKEI_VAR_DIR"])


def signing_key_path(config: Config) -> Path:
    return Path(_setting(config, "RENKEI_SIGNING_KEY") or _var(config) / "signing" / "signing-key.pem")


def trusted_locations(config: Config) -> list[Path]:
    configured = _setting(config, "RENKEI_TRUSTED_KEYS")
    if configured:
        return [Path(part) for part in configured.split(os.pathsep) if part]
    return [signing_key_path(config).parent]


def signer(config: Config) -> signing.Signer:
    """The private key (:class:`core.signing.NoSigningKey` when there is none)."""
    return signing.load_signer(signing_key_path(config))


def signer_or_none(config: Config) -> signing.Signer | None:
    try:
        return signer(config)
    except signing.NoSigningKey:
        return None


def trusted_keys(config: Config) -> dict:
    return signing.load_trusted(trusted_locations(config))


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def installed_trusted_locations(config: Config) -> list[Path]:
    """The public keys the installation trusts (``RENKEI_TRUSTED_KEYS``), leaving out the signing
    key's own folder and any key file in it; outside production, with the setting empty, the key's
    folder (development and tests). :class:`UntrustedInstallation` in production without the setting."""
    key_folder = signing_key_path(config).parent
    configured = _setting(config, "RENKEI_TRUSTED_KEYS")
    if not configured:
        if config.get("RENKEI_ENV") == "production":
            raise UntrustedInstallation(
                "RENKEI_TRUSTED_KEYS is not set: production believes the maintenance identity only from a public key "
                "the installation put in a folder of its own (docs/deployment.md, \"Backups\"), never from the signing "
                f"key's folder {key_folder}, where whoever can write it could put a key of their own",
                "RENKEI_TRUSTED_KEYS が設定されていません。本番では、保守用IDはインストール時に専用のフォルダに置いた公開鍵でのみ"
                f"確認します（docs/deployment.md「Backups」）。署名鍵のフォルダ {key_folder} の鍵は、そこに書き込める者が"
                "自分の鍵を置けるため信頼しません。")
        return [key_folder]
    return [location for location in (Path(part) for part in configured.split(os.pathsep) if part)
            if not _same(location, key_folder) and not (location.suffix == signing.PUBLIC_SUFFIX
                                                        and _same(location.parent, key_folder))]


def installed_trusted_keys(config: Config) -> dict:
    """The public keys by key id that the maintenance identity and the audit log's maintenance
    records are believed from (:func:`installed_trusted_locations`)."""
    return signing.load_trusted(installed_trusted_locations(config))


class UntrustedInstallation(signing.SignatureRefused):
    """No place of trusted keys set by the installation (production), or the first key asked twice."""


def maintenance_actor(config: Config) -> Actor:
    """The host owner's maintenance identity, proven by possession of the signing key: a fresh
    challenge signed with the private key must verify against a trusted public key (a key file that
    is not one of renkei's trusted keys proves nothing). Acts as platform operator; the audit log
    names it ("maintenance identity") and the key. :class:`core.signing.NoSigningKey` without a key,
    :class:`core.signing.SignatureRefused` for a key that is not trusted."""
    trusted = installed_trusted_keys(config)
    key = signer(config)
    challenge = f"renkei maintenance identity {secrets.token_hex(16)}".encode()
    kid = signing.verify(challenge, key.sign(challenge), trusted,
                         "the maintenance identity's signing key", "保守用IDの署名鍵")
    return _maintenance(kid)


def _maintenance(kid: str) -> Actor:
    return Actor(issuer=MAINTENANCE_ISSUER, subject=f"signing-key:{kid}",
                 name=f"maintenance identity / 保守用ID (signing key {kid})", roles=frozenset({authz.OPERATOR}))


def is_maintenance(actor: Actor) -> bool:
    return actor.issuer == MAINTENANCE_ISSUER


def maintenance_key_id(actor_issuer: str, actor_subject: str) -> str | None:
    """The signing key's id an audit record's maintenance identity names (None: not the maintenance identity)."""
    if actor_issuer != MAINTENANCE_ISSUER or not actor_subject.startswith("signing-key:"):
        return None
    return actor_subject.removeprefix("signing-key:")


def first_key(config: Config) -> tuple[signing.Signer, Path, Path, Actor]:
    """The install's first signing key, made with no one signed in (nobody can be before the realm
    exists): refused when a private key exists or the installation's trusted folder already holds a
    key (a rotation is a signed-in operator's or the maintenance identity's:
    ``renkei signing-key generate --replace``). The private key at ``RENKEI_SIGNING_KEY``, its public
    key beside it and in the first folder of ``RENKEI_TRUSTED_KEYS`` (which must be set, and not the
    key's folder); (signer, private key, trusted public key, the new key's maintenance identity)."""
    path = signing_key_path(config)
    configured = [Path(part) for part in _setting(config, "RENKEI_TRUSTED_KEYS").split(os.pathsep) if part]
    if not configured:
        raise UntrustedInstallation(
            "RENKEI_TRUSTED_KEYS is not set: set it to the installation's folder of trusted public keys "
            "(e.g. /etc/renkei/trusted-keys, docs/deployment.md) before making the first key",
            "RENKEI_TRUSTED_KEYS が設定されていません。最初の鍵を作る前に、信頼する公開鍵のフォルダ"
            "（例: /etc/renkei/trusted-keys、docs/deployment.md）を設定してください。")
    folder = configured[0]
    if _same(folder, path.parent) or folder.suffix == signing.PUBLIC_SUFFIX:
        raise UntrustedInstallation(
            f"RENKEI_TRUSTED_KEYS must name a folder of its own, not the signing key's folder or a key file ({folder})",
            f"RENKEI_TRUSTED_KEYS には署名鍵のフォルダや鍵ファイルではない専用のフォルダを指定してください（{folder}）。")
    if path.exists() or signing.load_trusted(configured):
        raise UntrustedInstallation(
            f"this install has a signing key already ({path} or a trusted key in {folder}): the first key is made once; "
            "rotate with `renkei signing-key generate --replace`, signed in or as the maintenance identity",
            f"署名鍵はすでにあります（{path} または {folder} の信頼する鍵）。最初の鍵は一度だけ作成します。"
            "切り替えはサインインした運営者か保守用IDで `renkei signing-key generate --replace` を実行してください。")
    key, public_path = signing.generate_key(path, path.parent)
    folder.mkdir(parents=True, exist_ok=True)
    trusted_path = folder / public_path.name
    trusted_path.write_bytes(public_path.read_bytes())
    os.chmod(trusted_path, 0o644)
    return key, path, trusted_path, _maintenance(key.key_id)


def checkpoint_dir(config: Config) -> Path:
    configured = _setting(config, "RENKEI_AUDIT_CHECKPOINT_DIR")
    return Path(configured) if configured else _var(config) / "audit-checkpoints"


def checkpoint_copy_dir(config: Config) -> Path | None:
    """The checkpoints' second place, off the database host (None: not configured)."""
    configured = _setting(config, "RENKEI_CHECKPOINT_COPY_DIR")
    return Path(configured) if configured else None


def write_checkpoint(config: Config, data: Mapping[str, Any]) -> Path:
    """Write a signed checkpoint document into the checkpoint folder and its copy (when configured);
    the path in the folder (:func:`core.checkpoints.write`)."""
    return checkpoints.write(checkpoint_dir(config), data, copy=checkpoint_copy_dir(config))


def archive_dirs(config: Config) -> dict[str, Path]:
    """Where each purged chain's archives go by default (chain name: folder): the purge commands'
    default and where ``renkei check`` looks for an archive besides the folder its purge recorded."""
    audit = _setting(config, "RENKEI_AUDIT_ARCHIVE_DIR")
    linkage = _setting(config, "RENKEI_LINKAGE_ARCHIVE_DIR")
    return {AUDIT_CHAIN: Path(audit) if audit else _var(config) / "audit-archive",
            "linkage_record": Path(linkage) if linkage else _var(config) / "linkage-archive"}


def backup_dir(config: Config) -> Path:
    configured = _setting(config, "RENKEI_BACKUP_DIR")
    return Path(configured) if configured else _var(config) / "backups"


@dataclasses.dataclass
class Found:
    """The checkpoints renkei could read for one chain, from the folder and the newest backup."""

    newest: checkpoints.Checkpoint | None
    forged: list[tuple[str, signing.SignatureRefused]]
    unsigned: list[str]
    places: list[str]
    # checkpoints of another database (a restore drill's: source, database), valid but not compared
    foreign: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _newest_backup_checkpoint(folder: Path, chain: str, trusted: dict, found: Found) -> checkpoints.Checkpoint | None:
    """The checkpoint in the newest signed archive of the backup store (by name, which carries the time)."""
    from maintenance import archive

    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.tar"), key=lambda p: p.name, reverse=True):
        if not tarfile.is_tarfile(path):
            continue
        try:
            manifest, _signature = archive.read_signed_manifest(path, trusted)
        except signing.SignatureRefused as refused:
            found.forged.append((f"backup {path.name}", refused))
            return None
        except archive.ArchiveRefused:
            continue
        return _listed_checkpoint(manifest, chain, trusted, f"backup {path.name}")
    return None


def _listed_checkpoint(manifest: dict, chain: str, trusted: dict, source: str) -> checkpoints.Checkpoint | None:
    """The first checkpoint of ``chain`` a backup's manifest lists that parses and is signed by a trusted key."""
    for data in manifest.get("checkpoints") or []:
        if isinstance(data, dict) and data.get("chain") == chain:
            try:
                return checkpoints.parse(data, trusted, source)
            except (signing.SignatureRefused, ValueError):
                continue
    return None


def _add_copy(found: Found, scanned: Any, copy: Path, chain: str, trusted: dict) -> None:
    """The copy folder's checkpoints added to those ``scanned`` (named as in the copy), its refused and
    unsigned files to ``found``."""
    copied = checkpoints.scan(copy, chain, trusted)
    found.forged += [(f"{copy.name}/{name}", refused) for name, refused in copied.forged]
    found.unsigned += copied.unsigned
    found.places.append(str(copy))
    scanned.valid.extend(dataclasses.replace(found_copy, source=f"{found_copy.source} in {copy}")
                         for found_copy in copied.valid)


def find_checkpoints(config: Config, chain: str = AUDIT_CHAIN, *, folder: Path | None = None,
                     trusted: dict | None = None, with_backups: bool = True) -> Found:
    """The newest checkpoint of ``chain`` in the checkpoint folder, its copy (``RENKEI_CHECKPOINT_COPY_DIR``)
    and the newest backup, with the files whose signature failed (forged or damaged) and those
    without one (ignored)."""
    folder = folder or checkpoint_dir(config)
    trusted = trusted_keys(config) if trusted is None else trusted
    scanned = checkpoints.scan(folder, chain, trusted)
    found = Found(None, list(scanned.forged), list(scanned.unsigned), [str(folder)])
    copy = checkpoint_copy_dir(config)
    if copy is not None and copy != folder:
        _add_copy(found, scanned, copy, chain, trusted)
    ours = database_identity(config)
    found.foreign = [(c.source, c.database) for c in scanned.valid if c.database not in (None, ours)]
    from_backup = None
    if with_backups:
        found.places.append(str(backup_dir(config)))
        from_backup = _newest_backup_checkpoint(backup_dir(config), chain, trusted, found)
    found.newest = checkpoints.newest([*(c for c in scanned.valid if c.database in (None, ours)), from_backup])
    return found


PUBLISHED_KEYS = "/portal/signing-keys/"
_SEALS: dict[tuple, dict[str, Any]] = {}  # where renkei publishes its trusted public keys (<key id>.pub)


def seals(config: Config, chains: tuple[str, ...] = ("consent_record", "linkage_record")) -> dict[str, Any]:
    """Each chain's newest signed checkpoint of this database, with the public key that signed it and
    where that key is published, for the proofs printed on receipts (:class:`core.receipt_proof.Seal`;
    None for a chain with no checkpoint yet). Reads the checkpoint folder and its copy, not the backups."""
    from core.receipt_proof import Seal

    # a receipt is answered on every consent given: the folders are read again only when a file was
    # added or removed in them (a folder's modification time), never on every request
    places = [checkpoint_dir(config), checkpoint_copy_dir(config), *trusted_locations(config)]
    cache_key = (tuple(chains), database_identity(config), str(config.get("RENKEI_PUBLIC_URL") or ""),
                 tuple((str(place), place.stat().st_mtime_ns if place is not None and place.exists() else None)
                       for place in places))
    if cache_key in _SEALS:
        return dict(_SEALS[cache_key])
    trusted = trusted_keys(config)
    public = str(config.get("RENKEI_PUBLIC_URL") or "").rstrip("/")
    found: dict[str, Any] = {}
    for chain in chains:
        newest = find_checkpoints(config, chain, trusted=trusted, with_backups=False).newest
        public_key = trusted.get(newest.key_id) if newest is not None else None
        found[chain] = Seal(newest.data, signing.public_pem(public_key).decode("ascii"),
                            f"{public}{PUBLISHED_KEYS}{newest.key_id}.pub") if public_key is not None else None
    _SEALS.clear()  # one entry: the newest
    _SEALS[cache_key] = found
    return dict(found)


def published_key(config: Config, key_id: str) -> bytes | None:
    """The PEM of the trusted public key ``key_id`` (None: not trusted), as renkei publishes it."""
    key = trusted_keys(config).get(key_id)
    return signing.public_pem(key) if key is not None else None


def database_identity(config: Config) -> str:
    """The database the application's chains live in, as checkpoints name it: where it is (kind,
    host, port and name; SQLite: the file), never who connects or their password. A restore drill's
    database is another one, so its checkpoints are told apart from the live chain's."""
    import sqlalchemy as sa

    url = sa.make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        return f"sqlite:{Path(url.database).resolve() if url.database else ':memory:'}"
    return f"{url.get_backend_name()}://{url.host or 'localhost'}:{url.port or ''}/{url.database or ''}"


def restore_checkpoint_dir(config: Config) -> Path:
    """Where ``renkei restore`` writes the checkpoints of the chains it restored: the checkpoint
    folder, unless the newest checkpoint there is another database's (the live one's, and this a
    restore drill into another database): then a folder of the drill's own beside it, so the live
    folder never holds the drill's checkpoints."""
    import hashlib

    folder = checkpoint_dir(config)
    ours = database_identity(config)
    newest = checkpoints.scan(folder, AUDIT_CHAIN, trusted_keys(config)).newest
    if newest is None or newest.database in (None, ours):
        return folder
    return folder.with_name(f"{folder.name}-drill-{hashlib.sha256(ours.encode()).hexdigest()[:12]}")
