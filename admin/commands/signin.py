"""Who the command line acts for, authenticated: ``renkei login`` / ``renkei logout`` and service accounts.

* ``renkei login``: the person signs in at Keycloak (the device flow: a code to confirm in a
  browser; ``--password`` uses the password flow where the realm allows it, as in the demo and
  tests). The tokens are kept for the session like the web's, in a file only that operating-system
  user can read (``RENKEI_CLI_SESSION``, default ``~/.cache/renkei/cli-session-<realm>.json``,
  mode 0600); the access token is renewed with the refresh token while Keycloak's session lasts,
  and the session ends after ``RENKEI_SESSION_IDLE_MINUTES`` without a command, as the web's does.
* A service account (the timers): ``RENKEI_CLI_CLIENT_ID`` and ``RENKEI_CLI_CLIENT_SECRET`` of a
  client the operator issued (``renkei keycloak service-account``); each command gets a fresh
  client-credentials token.

Either token is checked exactly as the API checks a bearer token (:func:`admin.auth.token_validator`:
signature, issuer, audience, expiry) and against the deny list; the actor is built from its claims
(roles and tenants as Keycloak gives them, ``--role`` narrowing them).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

CLIENT_ID_ENV = "RENKEI_CLI_CLIENT_ID"
CLIENT_SECRET_ENV = "RENKEI_CLI_CLIENT_SECRET"
SESSION_ENV = "RENKEI_CLI_SESSION"


def session_file() -> Path:
    explicit = os.environ.get(SESSION_ENV)
    if explicit:
        return Path(explicit).expanduser()
    from maintenance.keycloak_distribution import cache_dir

    config = current_app.config
    realm = hashlib.sha256(f"{config['RENKEI_KEYCLOAK_URL']} {config['RENKEI_KEYCLOAK_REALM']}".encode()).hexdigest()[:12]
    return cache_dir() / f"cli-session-{config['RENKEI_KEYCLOAK_REALM']}-{realm}.json"


def _save(tokens: dict, seen: float) -> None:
    path = session_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"access_token": tokens["access_token"], "refresh_token": tokens.get("refresh_token", ""), "seen": seen}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle)
    os.chmod(path, 0o600)


def _forget() -> bool:
    try:
        session_file().unlink()
        return True
    except FileNotFoundError:
        return False


def _claims(token: str) -> dict:
    """The token checked as the API checks a bearer token, and against the deny list."""
    from admin.auth import AccessEnded, deny_list, token_validator
    from admin.extensions import db

    claims = token_validator().claims(token)
    if _has_schema() and deny_list().refused(db.session, claims["sub"], claims.get("iat")):
        raise AccessEnded()
    return claims


def _has_schema() -> bool:
    """Whether the database holds renkei's tables: an empty one (the target of ``renkei restore``,
    docs/operations.md) has no deny list to consult, so nobody is denied in it; the restored deny
    list applies from the next command on."""
    import sqlalchemy as sa

    from admin.extensions import db
    from tenancy.identity.models import DeniedSubject

    with db.engine.connect() as connection:
        return sa.inspect(connection).has_table(DeniedSubject.__tablename__)


def _session_claims() -> dict | None:
    """The signed-in person's claims (renewing the access token when it expired), ``None`` when
    nobody signed in; a session that ended (idle, refused, Keycloak's session over) is forgotten
    and the person is asked to sign in again."""
    from core.errors import DomainError
    from tenancy.errors import IdentityUnavailable
    from tenancy.identity.keycloak import refresh_tokens

    from admin.identity import keycloak_settings

    path = session_file()
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        _forget()
        raise click.UsageError("The sign-in session file could not be read; sign in again with 'renkei login'.")
    now = time.time()
    if now - float(saved.get("seen", 0)) > float(current_app.config["RENKEI_SESSION_IDLE_MINUTES"]) * 60:
        _forget()
        raise click.UsageError("Your sign-in session ended after a time without commands; sign in again with 'renkei login'.")
    try:
        claims = _claims(saved["access_token"])
        tokens = saved
    except DomainError as error:
        if error.kind == "unavailable":  # Keycloak away: the session is kept for when it is back
            raise
        if error.kind != "unauthenticated" or not saved.get("refresh_token") or getattr(error, "details", {}).get(
                "reason") == "access ended":
            _forget()
            raise click.UsageError(f"{error.message_en} Sign in again with 'renkei login'.") from None
        try:
            tokens = refresh_tokens(keycloak_settings(), saved["refresh_token"])
        except IdentityUnavailable:  # Keycloak away: the session is kept for when it is back
            raise
        except Exception:  # noqa: BLE001  (Keycloak's session ended: the refresh token is refused)
            _forget()
            raise click.UsageError("Your sign-in session ended; sign in again with 'renkei login'.") from None
        claims = _claims(tokens["access_token"])
    _save(tokens, now)
    return claims


def _service_account_claims() -> dict | None:
    client_id, secret = os.environ.get(CLIENT_ID_ENV, "").strip(), os.environ.get(CLIENT_SECRET_ENV, "")
    if not client_id and not secret:
        return None
    if not client_id or not secret:
        raise click.UsageError(f"A service account needs both {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}.")
    from tenancy.identity.keycloak import client_credentials_token

    from admin.identity import keycloak_settings

    try:
        tokens = client_credentials_token(keycloak_settings(), client_id, secret)
    except Exception as error:  # noqa: BLE001  (a refused secret, or Keycloak away: said as it is)
        from core.errors import DomainError

        if isinstance(error, DomainError) and error.kind == "unavailable":
            raise
        raise click.UsageError(f"The service account {client_id} could not sign in: its client id or secret "
                               "was refused by Keycloak.") from None
    return _claims(tokens["access_token"])


def authenticated_actor(roles: tuple[str, ...]):
    """``(actor, names)``: the actor of a service account (its credential in the environment) or of
    the person signed in with ``renkei login``, and the names ``--as`` may repeat for them (username,
    client id, subject); ``None`` when there is neither. ``roles`` (``--role``) narrow the
    roles Keycloak gave; a role not held is refused."""
    import dataclasses

    from admin.auth import KNOWN_ROLES
    from core.errors import DomainError
    from tenancy.identity.tokens import actor_from_claims

    try:
        claims = _service_account_claims() or _session_claims()
    except DomainError as error:
        raise click.ClickException(error.message_en) from None
    if claims is None:
        return None
    actor = actor_from_claims(claims, KNOWN_ROLES)
    username = str(claims.get("preferred_username") or claims.get("azp") or claims["sub"])
    if roles:
        missing = set(roles) - actor.roles
        if missing:
            raise click.UsageError(f"{username} does not hold the role {', '.join(sorted(missing))} "
                                   f"(held: {', '.join(sorted(actor.roles)) or 'none'}).")
        actor = dataclasses.replace(actor, roles=frozenset(roles))
    return actor, {username, str(claims.get("azp") or ""), actor.subject, actor.name} - {""}


# --- renkei login / logout -----------------------------------------------------------------------

@click.command("login")
@click.option("--password", "use_password", is_flag=True,
              help="Sign in with username and password (only where the realm allows direct sign-in: demo, tests).")
@click.option("--username", help="With --password: the username (asked when not given).")
@with_appcontext
def login_command(use_password: bool, username: str | None) -> None:
    """Sign in at Keycloak; the following commands act for you until you log out or stay idle too long."""
    from admin.identity import keycloak_settings
    from core.errors import DomainError
    from tenancy.identity import keycloak

    settings = keycloak_settings()
    try:
        if use_password:
            username = username or click.prompt("Username")
            password = os.environ.get("RENKEI_CLI_PASSWORD") or click.prompt("Password", hide_input=True)
            try:
                tokens = keycloak.password_token(settings, username, password)
            except DomainError:
                raise
            except Exception:  # noqa: BLE001  (wrong password, or direct sign-in not allowed by the realm)
                raise click.ClickException("Keycloak refused the sign-in (a wrong username or password, or "
                                           "direct sign-in is not allowed in this realm: use 'renkei login').") from None
        else:
            tokens = _device_flow(settings, keycloak)
        claims = _claims(tokens["access_token"])
    except DomainError as error:
        raise click.ClickException(error.message_en) from None
    _save(tokens, time.time())
    from admin.auth import KNOWN_ROLES
    from tenancy.identity.tokens import actor_from_claims

    actor = actor_from_claims(claims, KNOWN_ROLES)
    click.echo(f"Signed in as {actor.name} ({', '.join(sorted(actor.roles)) or 'no role'}); "
               f"session kept in {session_file()}.")


def _device_flow(settings, keycloak) -> dict:
    from core.errors import DomainError

    try:
        started = keycloak.device_authorization(settings)
    except DomainError:
        raise
    except Exception:  # noqa: BLE001  (Keycloak refused to start it: the client does not allow the device flow)
        raise click.ClickException("Keycloak refused to start a device sign-in for renkei's client (is the device "
                                   "flow allowed? 'renkei keycloak bootstrap' allows it).") from None
    click.echo(f"Open {started.get('verification_uri_complete') or started['verification_uri']} in a browser, "
               f"sign in and confirm the code {started['user_code']}.")
    # RFC 8628, 3.5: poll every `interval` seconds the server gave (5 when it gave none), and 5 s
    # more for this and every later poll each time it answers slow_down
    interval = float(started.get("interval", 5))
    deadline = time.monotonic() + float(started.get("expires_in", 600))
    while time.monotonic() < deadline:
        time.sleep(interval)
        try:
            tokens = keycloak.device_token(settings, started["device_code"], started.get("code_verifier", ""))
        except DomainError:
            raise
        except Exception:  # noqa: BLE001  (the person declined, or the code expired)
            raise click.ClickException("Keycloak ended the device sign-in (the code was declined or expired); "
                                       "run 'renkei login' again.") from None
        if isinstance(tokens, dict):
            return tokens
        if tokens == keycloak.DEVICE_SLOW_DOWN:
            interval += 5
    raise click.ClickException("The code was not confirmed in time; run 'renkei login' again.")


@click.command("logout")
@with_appcontext
def logout_command() -> None:
    """End the command line's sign-in session: Keycloak's session ends and the kept tokens are deleted."""
    from core.errors import DomainError
    from tenancy.identity.keycloak import end_session

    from admin.identity import keycloak_settings

    try:
        refresh_token = json.loads(session_file().read_text()).get("refresh_token", "")
    except (OSError, ValueError):
        refresh_token = ""
    ended = ""
    if refresh_token:
        try:
            end_session(keycloak_settings(), refresh_token)
        except DomainError as error:  # Keycloak away: its session ends at its own idle limit
            ended = f" Keycloak's session could not be ended now ({error.message_en}); it ends at its idle limit."
    click.echo(("Signed out." if _forget() else "Nobody was signed in.") + ended)
