"""Bearer access tokens issued by the platform realm, validated against its JWKS.

Checked: signature (asymmetric algorithms only; ``alg: none`` and HMAC are refused before any key
is looked up), issuer, audience, expiry and not-before (with a small leeway for clock skew).
Keys are cached and fetched again when a token names a key id the cache does not know (key
rotation). People and machine clients are identified by (issuer, subject), never by e-mail.
"""

from __future__ import annotations

from typing import Any

import jwt

from core.actor import Actor
from core.errors import DomainError, Unavailable
from tenancy.identity.groups import tenant_codes_from_groups

ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class InvalidToken(DomainError):
    kind = "unauthenticated"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The access token was refused: {reason}. Sign in again to get a new token.",
            f"アクセストークンが無効です（{reason}）。もう一度ログインしてトークンを取得してください。",
            reason=reason,
        )


class TokenValidator:
    def __init__(self, issuer: str, jwks_url: str, audience: str, leeway: int = 30, cache_seconds: int = 300,
                 refetch_cooldown: float = 30) -> None:
        """``refetch_cooldown``: after a fetch, unknown key ids do not trigger another one for
        this many seconds, so a flood of forged ``kid``s cannot hammer Keycloak."""
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=cache_seconds, timeout=5,
                                     cooldown_duration=refetch_cooldown)

    def claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("not a well-formed JWT") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise Unavailable(
                "Could not reach the identity server to check the token; try again shortly.",
                "認証サーバーに接続できず、トークンを確認できませんでした。しばらくしてから再度お試しください。",
            ) from None
        except jwt.PyJWTError:
            raise InvalidToken("signed with an unknown key") from None
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


def actor_from_claims(claims: dict[str, Any], known_roles: frozenset[str], **context: Any) -> Actor:
    roles = frozenset(claims.get("realm_access", {}).get("roles", [])) & known_roles
    # Japanese order: family name first (Keycloak's "name" claim is given + family)
    family, given = claims.get("family_name"), claims.get("given_name")
    name = (f"{family} {given}" if family and given else None) or claims.get("name") \
        or claims.get("preferred_username") or claims.get("azp") or claims["sub"]
    return Actor(
        issuer=claims["iss"],
        subject=claims["sub"],
        name=name,
        roles=roles,
        tenant_codes=tenant_codes_from_groups(claims.get("groups", [])),
        **context,
    )
