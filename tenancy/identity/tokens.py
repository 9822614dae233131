"""Bearer access tokens issued by the platform realm, validated against its JWKS.

Checked: signature (asymmetric algorithms only; ``alg: none`` and HMAC are refused before any key
is looked up), issuer, audience, expiry and not-before (with a leeway for clock skew:
``RENKEI_TOKEN_LEEWAY_SECONDS``, default and at most 5 s, so an expired token is refused 5 s after its exp).
People and machine clients are identified by (issuer, subject), never by e-mail.

The realm's signing keys (:class:`KeySet`) are read from its JWKS and never waited for once known:
after ``cache_seconds`` (``RENKEI_JWKS_CACHE_SECONDS``, default 300) they are still used and read
again in the background (one read at a time). While Keycloak cannot be reached the last keys it
gave are kept, for at most ``keep_seconds`` (``RENKEI_JWKS_KEEP_SECONDS``, default 900) after they
were read; past that they are dropped and a token needing them is answered 503 (after a read that
failed, the next is tried no sooner than the cooldown). A token naming a key id the set does not
know (key rotation) makes a read now, at most one per ``refetch_cooldown`` (a flood of forged
``kid``s cannot hammer Keycloak).

A token that passed every check is remembered by its SHA-256 until its own ``exp`` (without the
leeway), so that a client sending the same token on every call pays for one signature check, not
one per request. A remembered token is never accepted at or after its expiry: it is checked again
in full (and refused when expired), exactly as if it had never been seen.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from core.actor import Actor
from core.errors import DomainError, Unavailable
from tenancy.identity.groups import tenant_codes_from_groups
from tenancy.identity.renewal import SingleFlight

ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}  # the JWK key type each algorithm family needs


class InvalidToken(DomainError):
    kind = "unauthenticated"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The access token was refused: {reason}. Sign in again to get a new token.",
            f"アクセストークンが無効です（{reason}）。もう一度ログインしてトークンを取得してください。",
            reason=reason,
        )


def identity_server_unavailable() -> Unavailable:
    return Unavailable(
        "Could not reach the identity server to check the token; try again shortly.",
        "認証サーバーに接続できず、トークンを確認できませんでした。しばらくしてから再度お試しください。",
    )


def jwks_reader(jwks_url: str, timeout: float = 5) -> Callable[[], dict[str, jwt.PyJWK]]:
    """A function that reads the realm's signing keys by key id (raises :class:`jwt.PyJWTError`)."""
    client = jwt.PyJWKClient(jwks_url, cache_jwk_set=False, cache_keys=False, timeout=timeout)

    def read() -> dict[str, jwt.PyJWK]:
        return {key.key_id: key for key in client.get_jwk_set().keys
                if key.key_id and key.public_key_use in ("sig", None)}

    return read


class KeySet:
    """The realm's signing keys, served from memory and read again off the request (module's text)."""

    def __init__(self, read: Callable[[], dict[str, jwt.PyJWK]], cache_seconds: float = 300,
                 keep_seconds: float = 900, refetch_cooldown: float = 30,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self.cache_seconds = float(cache_seconds)
        self.keep_seconds = max(float(keep_seconds), self.cache_seconds)
        self.refetch_cooldown = float(refetch_cooldown)
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._read_at: float | None = None  # (monotonic) the last read that succeeded
        self._tried_at = float("-inf")  # the last read begun
        self._failed_at = float("-inf")  # the last read that could not reach Keycloak
        self._lock = threading.Lock()
        self.renewals = SingleFlight("the realm's signing keys")

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key ``kid`` names, None when the realm has no such key; :class:`Unavailable` when the
        keys cannot be known (never read, or kept past ``keep_seconds``, and Keycloak unreachable)."""
        now = self._clock()
        age = float("inf") if self._read_at is None else now - self._read_at
        if age < self.keep_seconds:
            key = self._keys.get(kid)
            if key is not None:
                if age >= self.cache_seconds and now - self._failed_at >= self._retry():
                    self.renewals.start("jwks", self._renew)
                return key
            if now - self._tried_at < self.refetch_cooldown:  # an unknown kid, asked again too soon
                return None
        elif now - self._failed_at < self._retry():  # nothing usable and Keycloak just failed: fail fast
            raise identity_server_unavailable()
        self._read_now()
        return self._keys.get(kid)

    def _retry(self) -> float:
        return min(self.refetch_cooldown, self.cache_seconds)

    def _read_now(self) -> None:
        self._tried_at = self._clock()
        try:
            keys = self._read()
        except (jwt.PyJWTError, OSError, ValueError):  # unreachable, or no key set in what it answered
            self._failed_at = self._clock()
            if self._read_at is not None and self._clock() - self._read_at >= self.keep_seconds:
                with self._lock:  # kept long enough: dropped
                    self._keys, self._read_at = {}, None
            raise identity_server_unavailable() from None
        with self._lock:
            self._keys, self._read_at = keys, self._clock()

    def _renew(self) -> None:
        try:
            self._read_now()
        except Unavailable:
            raise RuntimeError("the identity server's JWKS could not be read") from None


class TokenValidator:
    def __init__(self, issuer: str, jwks_url: str, audience: str, leeway: int = 5, cache_seconds: float = 300,
                 refetch_cooldown: float = 30, verified_cache_size: int = 10_000,
                 clock: Callable[[], float] = time.time, keep_seconds: float = 900,
                 read_keys: Callable[[], dict[str, jwt.PyJWK]] | None = None) -> None:
        """``refetch_cooldown``: after a read of the keys, unknown key ids do not trigger another one for
        this many seconds. ``verified_cache_size``: how many verified tokens are remembered (0: none).
        ``read_keys``: reads the keys by key id (default: the JWKS at ``jwks_url``)."""
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.keys = KeySet(read_keys or jwks_reader(jwks_url), cache_seconds=cache_seconds,
                           keep_seconds=keep_seconds, refetch_cooldown=refetch_cooldown)
        self._verified: dict[bytes, tuple[float, dict[str, Any]]] = {}
        self._verified_size = verified_cache_size
        self._clock = clock
        self._lock = threading.Lock()

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid token; :class:`InvalidToken` otherwise (see the module's text)."""
        digest = hashlib.sha256(token.encode()).digest()
        remembered = self._verified.get(digest)
        if remembered is not None:
            if self._clock() < remembered[0]:
                return dict(remembered[1])
            with self._lock:
                self._verified.pop(digest, None)
        claims = self._verify(token)
        if self._verified_size > 0:
            self._remember(digest, claims)
        return dict(claims)

    def _remember(self, digest: bytes, claims: dict[str, Any]) -> None:
        expires = float(claims["exp"])
        with self._lock:
            if len(self._verified) >= self._verified_size:
                now = self._clock()
                for key in [key for key, (until, _) in self._verified.items() if until <= now]:
                    del self._verified[key]
                if len(self._verified) >= self._verified_size:  # the oldest half goes
                    for key in list(self._verified)[: max(1, self._verified_size // 2)]:
                        del self._verified[key]
            self._verified[digest] = (expires, claims)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("not a well-formed JWT") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        key = self.keys.key(kid) if isinstance(kid, str) and kid else None  # Unavailable: Keycloak away
        if key is None:
            raise InvalidToken("signed with an unknown key")
        if _KEY_TYPES[header["alg"][:2]] != key.key_type:  # e.g. ES256 naming the realm's RSA key id
            raise InvalidToken(f"algorithm {header['alg']!r} does not match the key it names")
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("issued for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("issued by another issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        except (TypeError, ValueError):  # a key the algorithm cannot use, however it got this far
            raise InvalidToken("the signature cannot be checked with the key it names") from None


def actor_from_claims(claims: dict[str, Any], known_roles: frozenset[str], **context: Any) -> Actor:
    roles = frozenset(claims.get("realm_access", {}).get("roles", [])) & known_roles
    # Japanese order: family name first (Keycloak's "name" claim is given + family)
    family, given = claims.get("family_name"), claims.get("given_name")
    name = (f"{family} {given}" if family and given else None) or claims.get("name") \
        or claims.get("preferred_username") or claims.get("azp") or claims["sub"]
    tenant_codes = tenant_codes_from_groups(claims.get("groups", []))
    client_id = None
    # the resident app's API client (tenancy.identity.api_clients): a machine token of a tenant's client
    # that was granted the consent:write scope records consent for that tenant's residents only
    if CONSENT_SCOPE in str(claims.get("scope", "")).split() and claims.get("renkei_client") and claims.get("renkei_tenant"):
        roles |= {CONSENT_APP_ROLE}
        tenant_codes = frozenset({str(claims["renkei_tenant"])})
        client_id = int(claims["renkei_client"]) if str(claims["renkei_client"]).isdigit() else None
    # a data service's API client granted residents:broker asks for its users' items (residents.brokerage)
    if BROKER_SCOPE in str(claims.get("scope", "")).split() and str(claims.get("renkei_client", "")).isdigit():
        roles |= {BROKERAGE_ROLE}
        client_id = int(claims["renkei_client"])
    return Actor(
        issuer=claims["iss"],
        subject=claims["sub"],
        name=name,
        roles=roles,
        tenant_codes=tenant_codes,
        client_id=client_id,
        **context,
    )


CONSENT_SCOPE, CONSENT_APP_ROLE = "consent:write", "consent-app"  # core.authz.CONSENT_APP
BROKER_SCOPE, BROKERAGE_ROLE = "residents:broker", "brokerage-client"  # core.authz.BROKERAGE_CLIENT
