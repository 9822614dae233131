"""Configuration from environment variables (see the README's configuration table).

Modes: ``production`` (the default: refuses a default secret key, API closed without tokens),
``development`` (local demo) and ``testing``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.calendar import JST_ZONE_NAME

DEFAULT_SECRET = "renkei-development-secret-change-me"
# an expired token is accepted at most this long after its exp (clock skew between Keycloak and renkei)
MAX_TOKEN_LEEWAY_SECONDS = 5


class ConfigurationError(RuntimeError):
    pass


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


# Client secrets used only when RENKEI_ENV=development and none are configured (local demo).
DEVELOPMENT_SECRETS = {
    "RENKEI_OIDC_CLIENT_SECRET": "renkei-dev-admin-client-secret",
    "RENKEI_SERVICE_CLIENT_SECRET": "renkei-dev-service-client-secret",
    "RENKEI_METERING_CLIENT_SECRET": "renkei-dev-metering-client-secret",
    "RENKEI_RESIDENTS_CLIENT_SECRET": "renkei-dev-portal-client-secret",
}


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    development = env.get("RENKEI_ENV", "production") == "development"

    def secret(name: str) -> str:
        return env.get(name) or (DEVELOPMENT_SECRETS[name] if development else "")

    var_dir = Path(env.get("RENKEI_VAR_DIR", Path.cwd() / "var"))
    keycloak_url = env.get("RENKEI_KEYCLOAK_URL", "http://127.0.0.1:8080").rstrip("/")
    realm = env.get("RENKEI_KEYCLOAK_REALM", "renkei")
    return {
        "RENKEI_ENV": env.get("RENKEI_ENV", "production"),
        "SECRET_KEY": env.get("RENKEI_SECRET_KEY", DEFAULT_SECRET),
        "RENKEI_VAR_DIR": str(var_dir),
        "SQLALCHEMY_DATABASE_URI": env.get("RENKEI_DATABASE_URL", f"sqlite:///{var_dir / 'renkei.db'}"),
        # the schema owner, for db upgrade/grant, backup, restore and the partition jobs (maintenance.owner);
        # empty: the same as RENKEI_DATABASE_URL (one role)
        "RENKEI_DATABASE_OWNER_URL": env.get("RENKEI_DATABASE_OWNER_URL", ""),
        "RENKEI_API_OPEN_FOR_DEVELOPMENT": _flag(env.get("RENKEI_API_OPEN_FOR_DEVELOPMENT")),
        "RENKEI_KEYCLOAK_URL": keycloak_url,
        "RENKEI_KEYCLOAK_PUBLIC_URL": env.get("RENKEI_KEYCLOAK_PUBLIC_URL", keycloak_url).rstrip("/"),
        "RENKEI_KEYCLOAK_REALM": realm,
        # how long the API gateway's client id and secret, once accepted by Keycloak, are taken as valid (docs/gateway.md)
        "RENKEI_GATEWAY_CREDENTIAL_SECONDS": float(env.get("RENKEI_GATEWAY_CREDENTIAL_SECONDS", "60")),
        # the realm's signing keys: read again (in the background) after so many seconds, and kept while
        # Keycloak cannot be reached for at most so many seconds after the last read (docs/gateway.md)
        # the gateway credentials bound to a recipe that passed `renkei gateway lint`: "<client id>=<hash> ..."
        "RENKEI_GATEWAY_RECIPES": env.get("RENKEI_GATEWAY_RECIPES", ""),
        "RENKEI_JWKS_CACHE_SECONDS": float(env.get("RENKEI_JWKS_CACHE_SECONDS", "300")),
        "RENKEI_JWKS_KEEP_SECONDS": float(env.get("RENKEI_JWKS_KEEP_SECONDS", "900")),
        # the longest a process keeps the register's dataset routes after another process changed them (docs/gateway.md)
        "RENKEI_DATASET_ROUTES_SECONDS": float(env.get("RENKEI_DATASET_ROUTES_SECONDS", "30")),
        # the gateway's counted calls: a local write-ahead log per host, folded into the database by a
        # thread of each process every so many seconds (docs/gateway.md, "Counting")
        "RENKEI_GATEWAY_CALL_LOG_DIR": env.get("RENKEI_GATEWAY_CALL_LOG_DIR", ""),
        "RENKEI_GATEWAY_FOLD_SECONDS": float(env.get("RENKEI_GATEWAY_FOLD_SECONDS", "0.5")),
        # each: every call's count on the disk before its answer; interval: before the answer in the
        # operating system (survives the worker's death), on the disk within the flush interval
        "RENKEI_GATEWAY_CALL_LOG_SYNC": env.get("RENKEI_GATEWAY_CALL_LOG_SYNC", "interval"),
        "RENKEI_GATEWAY_CALL_LOG_FLUSH_SECONDS": float(env.get("RENKEI_GATEWAY_CALL_LOG_FLUSH_SECONDS", "0.01")),
        # seconds each call to Keycloak may take before renkei gives up on it (on a request path: short)
        "RENKEI_KEYCLOAK_TIMEOUT": float(env.get("RENKEI_KEYCLOAK_TIMEOUT", "3")),
        "RENKEI_KEYCLOAK_ADMIN_USER": env.get("RENKEI_KEYCLOAK_ADMIN_USER", "admin"),
        # Keycloak's master administrator: only in the shell that runs `renkei keycloak bootstrap` or
        # `service-account` (docs/deployment.md); admin/admin is the local Keycloak's, outside production only
        # (None: unset, settled by settle_defaults once the mode is known)
        "RENKEI_KEYCLOAK_ADMIN_PASSWORD": env.get("RENKEI_KEYCLOAK_ADMIN_PASSWORD"),
        # the state dir of a Keycloak `renkei keycloak start` runs here (default: the one for the
        # URL's port): `renkei backup` then takes Keycloak's full export (credentials included)
        "RENKEI_KEYCLOAK_STATE_DIR": env.get("RENKEI_KEYCLOAK_STATE_DIR", ""),
        "RENKEI_OIDC_CLIENT_ID": env.get("RENKEI_OIDC_CLIENT_ID", "renkei-admin"),
        "RENKEI_OIDC_CLIENT_SECRET": secret("RENKEI_OIDC_CLIENT_SECRET"),
        "RENKEI_SERVICE_CLIENT_ID": env.get("RENKEI_SERVICE_CLIENT_ID", "renkei-service"),
        "RENKEI_SERVICE_CLIENT_SECRET": secret("RENKEI_SERVICE_CLIENT_SECRET"),
        "RENKEI_METERING_CLIENT_SECRET": secret("RENKEI_METERING_CLIENT_SECRET"),
        "RENKEI_PUBLIC_URL": env.get("RENKEI_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        # the residents' portal's sign-in (docs/residents.md, "Sign-in with the My Number card"): a realm of
        # the residents' own, never RENKEI_KEYCLOAK_REALM, its client, and the municipality whose portal this is
        "RENKEI_RESIDENTS_REALM": env.get("RENKEI_RESIDENTS_REALM", "renkei-residents"),
        "RENKEI_RESIDENTS_CLIENT_ID": env.get("RENKEI_RESIDENTS_CLIENT_ID", "renkei-portal"),
        "RENKEI_RESIDENTS_CLIENT_SECRET": secret("RENKEI_RESIDENTS_CLIENT_SECRET"),
        "RENKEI_PORTAL_TENANT": env.get("RENKEI_PORTAL_TENANT", ""),
        # clock skew tolerated on a token's exp/nbf (seconds, at most MAX_TOKEN_LEEWAY_SECONDS)
        "RENKEI_TOKEN_LEEWAY_SECONDS": int(env.get("RENKEI_TOKEN_LEEWAY_SECONDS", "5")),
        "RENKEI_API_AUDIENCE": env.get("RENKEI_API_AUDIENCE", "renkei-api"),
        "RENKEI_SMTP_HOST": env.get("RENKEI_SMTP_HOST", ""),
        "RENKEI_SMTP_PORT": int(env.get("RENKEI_SMTP_PORT", "25")),
        "RENKEI_SMTP_FROM": env.get("RENKEI_SMTP_FROM", "renkei@localhost"),
        "RENKEI_SMTP_USER": env.get("RENKEI_SMTP_USER", ""),
        "RENKEI_SMTP_PASSWORD": env.get("RENKEI_SMTP_PASSWORD", ""),
        "RENKEI_SMTP_STARTTLS": _flag(env.get("RENKEI_SMTP_STARTTLS")),
        # four eyes on allocation runs and policy adoption (off: one-person office); read by four_eyes()
        "RENKEI_FOUR_EYES": _flag(env.get("RENKEI_FOUR_EYES", "on")),
        # the residents' personal items are encrypted with these keys, never kept in the database
        # (residents.crypto: "id:base64key" entries, current first, or a file of them); production refuses
        # to start without them
        "RENKEI_RESIDENT_KEYS": env.get("RENKEI_RESIDENT_KEYS", ""),
        "RENKEI_RESIDENT_KEY_FILE": env.get("RENKEI_RESIDENT_KEY_FILE", ""),
        # the residents' numbers for policy work show no count below this ("10未満"): residents.figures
        "RENKEI_RESIDENT_SMALL_COUNT": int(env.get("RENKEI_RESIDENT_SMALL_COUNT", "10")),
        # --- access ends, sign-in security (docs/identity.md) ---
        # people's access tokens live this long (set on the realm by `renkei keycloak bootstrap`)
        "RENKEI_ACCESS_TOKEN_SECONDS": int(env.get("RENKEI_ACCESS_TOKEN_SECONDS", "300")),
        # TOTP required for operator, finance, auditor and municipal admins (bootstrap and invitations)
        "RENKEI_REQUIRE_TOTP": _flag(env.get("RENKEI_REQUIRE_TOTP", "on")),
        # the passwords' hashing cost set on the realm (Keycloak's hashIterations); unset keeps Keycloak's own.
        # For the test suite only: production refuses to start with it set
        "RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS": (int(env["RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS"])
                                                     if env.get("RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS") else None),
        # each process reads the deny list again when its copy is older than this (seconds)
        "RENKEI_DENY_LIST_MAX_AGE": float(env.get("RENKEI_DENY_LIST_MAX_AGE", "1")),
        # Keycloak's admin events are read this often (seconds) by a thread of each process
        "RENKEI_ADMIN_EVENTS_INTERVAL": float(env.get("RENKEI_ADMIN_EVENTS_INTERVAL", "1")),
        # after a failed read the wait doubles up to this (seconds): admin/admin_events.py
        "RENKEI_ADMIN_EVENTS_BACKOFF_MAX": float(env.get("RENKEI_ADMIN_EVENTS_BACKOFF_MAX", "5")),
        # the /admin session ends after this many idle minutes
        "RENKEI_SESSION_IDLE_MINUTES": float(env.get("RENKEI_SESSION_IDLE_MINUTES", "30")),
        # the /admin session re-reads the person's roles and enabled state from Keycloak this often (seconds)
        "RENKEI_SESSION_RECHECK_SECONDS": float(env.get("RENKEI_SESSION_RECHECK_SECONDS", "300")),
        # the reverse proxies (load balancers) whose X-Forwarded-* headers are believed, by address
        # (CIDRs; empty: none). See admin/proxies.py
        "RENKEI_TRUSTED_PROXIES": env.get("RENKEI_TRUSTED_PROXIES", ""),
        # the widest range production believes forwarded headers from (a load balancer's subnet, not a
        # whole private network): the shortest prefix length accepted, IPv4 and IPv6
        "RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V4": int(env.get("RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V4", "16")),
        "RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V6": int(env.get("RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V6", "48")),
        # replaced by RENKEI_TRUSTED_PROXIES: set, it stops the start (a hop count trusts whoever connects)
        "RENKEI_PROXY_HOPS": env.get("RENKEI_PROXY_HOPS", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",  # Lax: the sign-in comes back from Keycloak as a top-level GET
        # one JSON line per request: "stdout", "off", or a directory of daily files (requests-YYYY-MM-DD.jsonl)
        "RENKEI_REQUEST_LOG": env.get("RENKEI_REQUEST_LOG", "stdout"),
        # request log files older than this are deleted by `renkei jobs run-due` (logs are kept one year)
        "RENKEI_RETENTION_DAYS": int(env.get("RENKEI_RETENTION_DAYS", "365")),
        # the level from which the application's log records (each with its request id) go to standard error
        "RENKEI_LOG_LEVEL": env.get("RENKEI_LOG_LEVEL", "WARNING"),
        # the incident register (service/incidents): the first report to the prefecture is due this many hours
        # after detection; the reports' e-mail recipients at the prefecture (commas; empty: the settings' e-mail);
        # who signs the reports (empty: the home prefecture's platform operator)
        "RENKEI_INCIDENT_FIRST_REPORT_HOURS": float(env.get("RENKEI_INCIDENT_FIRST_REPORT_HOURS", "1")),
        "RENKEI_INCIDENT_REPORT_RECIPIENTS": env.get("RENKEI_INCIDENT_REPORT_RECIPIENTS", ""),
        "RENKEI_INCIDENT_REPORTER": env.get("RENKEI_INCIDENT_REPORTER", ""),
        # linkage records (issue 23) older than this are archived, then purged, by `renkei jobs run-due` (at least 365)
        "RENKEI_LINKAGE_RETENTION_DAYS": int(env.get("RENKEI_LINKAGE_RETENTION_DAYS", "365")),
        # where those archives go (default <RENKEI_VAR_DIR>/linkage-archive)
        "RENKEI_LINKAGE_ARCHIVE_DIR": env.get("RENKEI_LINKAGE_ARCHIVE_DIR", ""),
        # a left resident's key material is erased this long after leaving (the due job resident-retention)
        "RENKEI_RESIDENT_LEFT_RETENTION_DAYS": int(env.get("RENKEI_RESIDENT_LEFT_RETENTION_DAYS", "365")),
        # where `renkei audit purge` writes its archives (default <RENKEI_VAR_DIR>/audit-archive); `renkei check` looks there
        "RENKEI_AUDIT_ARCHIVE_DIR": env.get("RENKEI_AUDIT_ARCHIVE_DIR", ""),
        # a second folder every signed checkpoint is also written to, on storage the database owner cannot
        # rewrite (another host, WORM / object lock); production warns without it and `renkei check` fails
        "RENKEI_CHECKPOINT_COPY_DIR": env.get("RENKEI_CHECKPOINT_COPY_DIR", ""),
        # each check of GET /readyz may take this long (seconds)
        "RENKEI_READY_TIMEOUT": float(env.get("RENKEI_READY_TIMEOUT", "1.5")),
        "BABEL_DEFAULT_LOCALE": env.get("RENKEI_DEFAULT_LOCALE", "ja"),
        "BABEL_DEFAULT_TIMEZONE": JST_ZONE_NAME,
        # no ping before each use: a pooled connection the server closed is noticed at check-out
        # without a round trip (core.db._server_hung_up) and replaced
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # SQLite only: how long a connection waits for another's write lock before "database is locked"
        "RENKEI_SQLITE_BUSY_SECONDS": float(env.get("RENKEI_SQLITE_BUSY_SECONDS", "30")),
        "JSON_SORT_KEYS": False,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        # how many problems a file check (registry import, wave file, invitations, usage import) lists;
        # the total is always counted and reported beside them
        "RENKEI_MAX_PROBLEMS_LISTED": int(env.get("RENKEI_MAX_PROBLEMS_LISTED", "200")),
        # the secretariat's desk (docs/inquiries-events.md): an inquiry's response target in business days, how long
        # an inquiry's personal data is kept after it was closed, and the public forms' limit per address and hour
        "RENKEI_INQUIRY_RESPONSE_DAYS": int(env.get("RENKEI_INQUIRY_RESPONSE_DAYS", "3")),
        "RENKEI_INQUIRY_RETENTION_DAYS": int(env.get("RENKEI_INQUIRY_RETENTION_DAYS", "1095")),
        "RENKEI_PUBLIC_FORM_HOURLY_LIMIT": int(env.get("RENKEI_PUBLIC_FORM_HOURLY_LIMIT", "5")),
    }


def settle_defaults(config: dict[str, Any]) -> None:
    """Defaults that depend on the mode, once the settings and their overrides are merged: the local
    Keycloak's admin/admin outside production only (production: none, unless set)."""
    if config.get("RENKEI_KEYCLOAK_ADMIN_PASSWORD") is None:
        config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"] = "" if config.get("RENKEI_ENV") == "production" else "admin"


def check(config: Mapping[str, Any]) -> None:
    """Refuse to run in production with settings that are only safe on a developer's machine."""
    if not 1 <= config.get("RENKEI_MAX_PROBLEMS_LISTED", 200) <= 10_000:
        raise ConfigurationError("RENKEI_MAX_PROBLEMS_LISTED must be a whole number from 1 to 10000")
    for name, low, high in (("RENKEI_INQUIRY_RESPONSE_DAYS", 1, 60), ("RENKEI_INQUIRY_RETENTION_DAYS", 30, 3650),
                            ("RENKEI_PUBLIC_FORM_HOURLY_LIMIT", 1, 1000)):
        if not low <= config.get(name, low) <= high:
            raise ConfigurationError(f"{name} must be a whole number from {low} to {high}")
    if config.get("RENKEI_RESIDENTS_REALM", "renkei-residents") == config.get("RENKEI_KEYCLOAK_REALM", "renkei"):
        raise ConfigurationError("RENKEI_RESIDENTS_REALM must not be the staff realm (RENKEI_KEYCLOAK_REALM): residents "
                                 "sign in to the portal in a realm of their own (docs/residents.md)")
    if config["RENKEI_ENV"] not in {"production", "development", "testing"}:
        raise ConfigurationError(f"RENKEI_ENV must be production, development or testing, not {config['RENKEI_ENV']!r}")
    if str(config.get("RENKEI_PROXY_HOPS") or "").strip() not in {"", "0"}:
        raise ConfigurationError("RENKEI_PROXY_HOPS is no longer read: list the load balancers' addresses in "
                                 "RENKEI_TRUSTED_PROXIES instead (CIDRs), so that forwarded headers are believed "
                                 "only from them (docs/deployment.md)")
    from admin.proxies import parse_trusted

    try:
        parse_trusted(config.get("RENKEI_TRUSTED_PROXIES") or "")
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    from tenancy.identity.gateway import registered_recipes

    try:
        registered_recipes(config.get("RENKEI_GATEWAY_RECIPES") or "")
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    if not 0 <= config.get("RENKEI_TOKEN_LEEWAY_SECONDS", 0) <= MAX_TOKEN_LEEWAY_SECONDS:
        raise ConfigurationError(f"RENKEI_TOKEN_LEEWAY_SECONDS must be a whole number from 0 to {MAX_TOKEN_LEEWAY_SECONDS}")
    if not 0 < config.get("RENKEI_SESSION_RECHECK_SECONDS", 300) <= 300:
        raise ConfigurationError("RENKEI_SESSION_RECHECK_SECONDS must be more than 0 and at most 300")
    if config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] and config["RENKEI_ENV"] != "development":
        raise ConfigurationError(
            f"RENKEI_API_OPEN_FOR_DEVELOPMENT is on with RENKEI_ENV={config['RENKEI_ENV']}: the open API (every "
            "request without a token acts as a platform operator) works only with RENKEI_ENV=development on a "
            "loopback address. Turn the flag off.")
    if config["RENKEI_ENV"] == "production":
        if config["SECRET_KEY"] in {DEFAULT_SECRET, "", None}:
            raise ConfigurationError(
                "RENKEI_SECRET_KEY is not set: production mode refuses to start with the default secret key. "
                "Set RENKEI_SECRET_KEY to a long random value (or RENKEI_ENV=development on a developer machine)."
            )
        _check_production_keycloak_admin(config)
        if config.get("RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS") is not None:
            raise ConfigurationError(
                "RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS is set: it lowers the cost of guessing the people's "
                "passwords and is for the test suite only. Production mode refuses to start with it; unset it.")
        _check_production_proxies(config)
        _check_checkpoint_copy(config)
    _check_resident_keys(config)


def _check_resident_keys(config: Mapping[str, Any]) -> None:
    """The residents' key ring must be readable; production refuses to start without one (it would
    otherwise have to serve residents' data it cannot read, or write it under a development key)."""
    from residents.crypto import ResidentKeyError, keyring_from_config

    try:
        keyring_from_config(config)
    except ResidentKeyError as error:
        raise ConfigurationError(
            f"The residents' encryption key cannot be used: {error}. Set RENKEI_RESIDENT_KEYS (id:base64key, current "
            "first) or RENKEI_RESIDENT_KEY_FILE; `renkei residents new-key ID` makes one. Production refuses to start "
            "without it.") from None


def check_resident_data(app) -> None:
    """At start-up, before serving: the residents' key ring must read the items the database holds
    (:func:`residents.operations.unreadable_keys`). A ring that lost the old key before the rotation, or holds
    only a new one, would answer look-ups with errors and enrol a second person for everyone it cannot match:
    refused, naming the key (its id, never its material). The commands are not refused here (`renkei check`
    names it, `renkei backup` must still run, `renkei residents rotate-key` refuses by itself). A database not
    built yet is not checked; one that cannot be reached yet is not either (logged)."""
    import logging

    import sqlalchemy as sa

    from admin.extensions import db
    from residents.crypto import keyring_from_config
    from residents.operations import unreadable_keys

    keys = keyring_from_config(app.config)
    with app.app_context():
        try:
            if not sa.inspect(db.engine).has_table("resident"):
                return
            found = unreadable_keys(db.session, keys)
        except sa.exc.DBAPIError as error:
            logging.getLogger(__name__).warning("the residents' key ring was not checked against the database at "
                                                "start: it could not be read (%s)", type(error.orig).__name__)
            return
        finally:
            db.session.remove()
            db.engine.dispose()  # no connection is carried into the workers the server forks
    if found:
        said = [unreadable.describe(keys) for unreadable in found]
        raise ConfigurationError(
            "renkei refuses to start: the residents' key ring cannot read the residents' items in the database. "
            + " ".join(en for en, _ in said) + " / renkei は起動しません：住民情報の鍵でデータベースの住民情報を読めません。"
            + "".join(ja for _, ja in said))


# Passwords Keycloak's own documentation, its container image and renkei's demo use or suggest: never in production.
DEFAULT_ADMIN_PASSWORDS = frozenset({"", "admin", "password", "keycloak", "changeme", "change_me", "secret", "admin123",
                                     "renkei", "renkei-demo-2026"})


def _check_production_keycloak_admin(config: Mapping[str, Any]) -> None:
    """Set, the master administrator's password must not be one anybody could guess. Left empty (the
    app servers: they never need it), the commands that need it refuse (:func:`master_admin_password`)."""
    password = str(config.get("RENKEI_KEYCLOAK_ADMIN_PASSWORD") or "")
    if password and (password.strip().lower() in DEFAULT_ADMIN_PASSWORDS or len(password) < 12):
        raise ConfigurationError(
            "RENKEI_KEYCLOAK_ADMIN_PASSWORD is a well-known default (admin) or shorter than 12 characters: "
            "production mode refuses to start with it, since whoever knows it administers every account. Set "
            "the Keycloak master administrator's real password, only where bootstrap runs (docs/deployment.md).")


def master_admin_password(config: Mapping[str, Any]) -> str:
    """The Keycloak master administrator's password for the commands that need it; in production an
    empty one is refused in words (a default one stops the start already, :func:`check`)."""
    password = str(config.get("RENKEI_KEYCLOAK_ADMIN_PASSWORD") or "")
    if not password and config.get("RENKEI_ENV") == "production":
        raise ConfigurationError(
            "RENKEI_KEYCLOAK_ADMIN_PASSWORD is empty: this command acts as Keycloak's master administrator. Set it "
            "in the shell that runs the command, never on the app servers (docs/deployment.md).")
    return password


def _check_production_proxies(config: Mapping[str, Any]) -> None:
    from admin.proxies import parse_trusted

    limits = {4: config.get("RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V4", 16), 6: config.get("RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V6", 48)}
    for network in parse_trusted(config.get("RENKEI_TRUSTED_PROXIES") or ""):
        if network.prefixlen < limits[network.version]:
            raise ConfigurationError(
                f"RENKEI_TRUSTED_PROXIES: {network} is wider than production accepts (/{limits[network.version]} at "
                f"the widest, RENKEI_TRUSTED_PROXIES_MIN_PREFIX_V{network.version}): X-Forwarded-For from any address in "
                "it would be believed, and the API clients' source address allowlists would mean nothing. List the "
                "load balancers' own addresses (docs/deployment.md).")


def _checkpoint_folders(config: Mapping[str, Any]) -> tuple[Path, Path | None]:
    folder = config.get("RENKEI_AUDIT_CHECKPOINT_DIR") or os.environ.get("RENKEI_AUDIT_CHECKPOINT_DIR") or \
        Path(config["RENKEI_VAR_DIR"]) / "audit-checkpoints"
    copy = config.get("RENKEI_CHECKPOINT_COPY_DIR") or os.environ.get("RENKEI_CHECKPOINT_COPY_DIR")
    return Path(folder).resolve(), Path(copy).resolve() if copy else None


def _check_checkpoint_copy(config: Mapping[str, Any]) -> None:
    """A copy of the checkpoints in the checkpoint folder itself (or inside it, or holding it) is no
    second place: refused in production."""
    folder, copy = _checkpoint_folders(config)
    if copy is not None and (copy == folder or folder in copy.parents or copy in folder.parents):
        raise ConfigurationError(
            f"RENKEI_CHECKPOINT_COPY_DIR ({copy}) is the checkpoint folder RENKEI_AUDIT_CHECKPOINT_DIR ({folder}), or "
            "inside it or around it: the copy must be a second place the database owner cannot rewrite (another "
            "host's mount, WORM or object-locked storage; docs/operations.md).")


CHECKPOINT_COPY_WARNING = (
    "RENKEI_CHECKPOINT_COPY_DIR is not set: the signed checkpoints of the audit, consent and linkage chains are "
    "kept in one folder only, and whoever can rewrite it (and the database) can cut or rewrite what was written "
    "since the newest checkpoint left there unseen. Set it to storage the database owner cannot rewrite "
    "(docs/operations.md); `renkei check` fails in production until it is set.")


def warn_no_checkpoint_copy(config: Mapping[str, Any]) -> None:
    """Say in the log, at start in production, that the checkpoints have no off-host copy."""
    import logging

    if config.get("RENKEI_ENV") == "production" and _checkpoint_folders(config)[1] is None:
        logging.getLogger("renkei").warning(CHECKPOINT_COPY_WARNING)


OPEN_API_WARNING = (
    "RENKEI_API_OPEN_FOR_DEVELOPMENT is ON: every API request without a token from this machine (loopback "
    "only) acts as a platform operator. Development only; never on a shared or reachable server.")


def four_eyes(config: Mapping[str, Any]) -> bool:
    """Whether this office requires two people for money decisions (``RENKEI_FOUR_EYES``, default on):
    an allocation run approved by a finance officer who neither computed nor reviewed it, and a policy
    adopted by one who did not draft it (or on a council resolution). Off: a one-person office, where
    one finance officer does both, and the audit record says so. The one reading of the setting: the
    web forms, the API and the command line ask it and pass it to the billing operations."""
    return bool(config.get("RENKEI_FOUR_EYES", True))


def warn_open_api() -> None:
    """Say loudly, on standard error and in the log, that the API is open (development only)."""
    import logging
    import sys

    banner = "!" * 100
    print(f"{banner}\n{OPEN_API_WARNING}\n{banner}", file=sys.stderr, flush=True)
    logging.getLogger("renkei").warning(OPEN_API_WARNING)
