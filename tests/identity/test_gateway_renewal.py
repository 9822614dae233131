"""Issue 51 item 4: the gateway decides without waiting for Keycloak. The gateway credential's claims
and the realm's signing keys are served from memory and renewed in the background, one renewal at a
time; a renewal Keycloak refuses drops the credential at once; one that cannot reach Keycloak keeps
what is known, for a bound. Keycloak is a stand-in whose answer blocks on an Event: a call made while
a renewal is blocked answers from memory (a call that waited for it would wait for the Event, and
fail on its PATIENCE, never pass). The real thing through nginx: tests/identity/test_gateway_frozen.py."""

from __future__ import annotations

import threading

import jwt
import pytest

from core.errors import Unavailable
from tenancy.identity.gateway import GatewayCredentials
from tenancy.identity.tokens import InvalidToken, KeySet, TokenValidator
from tests.identity.test_token_validator import AUDIENCE, ISSUER, jwk, new_key, sign

PATIENCE = 60  # seconds a stand-in waits for the test to let it go: a generous bound, never a measured time


class Keycloak:
    """A stand-in answer: ``answer()`` gives what it is set to, or raises it; while ``block`` is set,
    a call waits until ``release`` is (as a frozen Keycloak holds the connection)."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.block = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, *_):
        self.calls += 1
        if self.block:
            self.entered.set()
            assert self.release.wait(PATIENCE), "a call waited for the frozen Keycloak"
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


# --- the gateway's own credential --------------------------------------------------------------

def credentials(keycloak, now, max_age=60.0):
    return GatewayCredentials(keycloak, max_age=max_age, clock=lambda: now[0], wall_clock=lambda: now[0])


def test_a_call_during_a_blocked_renewal_gets_the_known_claims_at_once_and_one_renewal_runs():
    now = [0.0]
    keycloak = Keycloak({"sub": "gateway", "exp": 300})
    known = credentials(keycloak, now)
    assert known.claims("gw", "secret")["sub"] == "gateway" and keycloak.calls == 1
    keycloak.block = True
    now[0] = 61.0  # past max_age, before the token's exp
    assert known.claims("gw", "secret")["sub"] == "gateway"  # served while its renewal starts
    assert keycloak.entered.wait(PATIENCE)  # the renewal is at Keycloak, held
    for _ in range(50):
        assert known.claims("gw", "secret")["sub"] == "gateway"
    assert keycloak.calls == 2  # one renewal for all of them (single flight)
    keycloak.answer = {"sub": "gateway", "exp": 400, "renewed": True}
    keycloak.release.set()
    assert known.renewals.join(PATIENCE)
    assert known.claims("gw", "secret")["renewed"] and keycloak.calls == 2  # fresh again: not asked


def test_a_renewal_keycloak_refuses_drops_the_credential_at_once():
    now = [0.0]
    keycloak = Keycloak({"sub": "gateway", "exp": 300})
    known = credentials(keycloak, now)
    known.claims("gw", "secret")
    keycloak.answer = None  # the secret was regenerated, or the client disabled
    now[0] = 61.0
    assert known.claims("gw", "secret") is not None  # this call does not wait for the renewal
    assert known.renewals.join(PATIENCE)
    assert known.claims("gw", "secret") is None  # the next one is refused: nothing kept of a refused pair
    keycloak.answer = InvalidToken("issued by another issuer")  # a token this realm does not accept: refused too
    assert known.claims("gw", "secret") is None


def test_keycloak_unreachable_keeps_the_credential_until_its_token_expires_then_fails_closed():
    now = [0.0]
    keycloak = Keycloak({"sub": "gateway", "exp": 300})
    known = credentials(keycloak, now)
    known.claims("gw", "secret")
    keycloak.answer = Unavailable("Keycloak does not answer", "Keycloak が応答しません")
    now[0] = 61.0
    assert known.claims("gw", "secret")["sub"] == "gateway"
    assert known.renewals.join(PATIENCE) and keycloak.calls == 2  # tried, could not reach it
    assert known.claims("gw", "secret")["sub"] == "gateway" and keycloak.calls == 2  # kept; no retry at once
    now[0] = 67.0  # after the retry interval: tried again in the background, still kept
    assert known.claims("gw", "secret")["sub"] == "gateway"
    assert known.renewals.join(PATIENCE) and keycloak.calls == 3
    now[0] = 300.0  # the token's own exp: never served at or after it; asked now, and Keycloak is away
    with pytest.raises(Unavailable):
        known.claims("gw", "secret")


# --- the realm's signing keys -------------------------------------------------------------------

def test_a_token_checked_while_the_keys_are_being_read_again_uses_the_known_keys_at_once():
    key = new_key()
    keycloak = Keycloak({"k1": jwt.PyJWK(jwk(key, "k1"))})
    now = [0.0]
    validator = TokenValidator(ISSUER, "http://127.0.0.1:9/certs", AUDIENCE)
    validator.keys = KeySet(keycloak, cache_seconds=300, keep_seconds=900, clock=lambda: now[0])
    assert validator.claims(sign(key, "k1"))["sub"] == "user-1" and keycloak.calls == 1
    keycloak.block = True
    now[0] = 301.0  # the keys are old: read again, in the background
    assert validator.claims(sign(key, "k1", sub="user-2"))["sub"] == "user-2"  # a token not seen before
    assert keycloak.entered.wait(PATIENCE)
    assert validator.claims(sign(key, "k1", sub="user-3"))["sub"] == "user-3"
    assert keycloak.calls == 2
    keycloak.release.set()
    assert validator.keys.renewals.join(PATIENCE)


def test_the_keys_are_kept_while_keycloak_is_away_for_their_bound_then_the_check_is_503():
    key = new_key()
    keycloak = Keycloak({"k1": jwt.PyJWK(jwk(key, "k1"))})
    now = [0.0]
    keys = KeySet(keycloak, cache_seconds=300, keep_seconds=900, refetch_cooldown=30, clock=lambda: now[0])
    assert keys.key("k1") is not None
    keycloak.answer = jwt.PyJWKClientConnectionError("connection refused")
    now[0] = 400.0
    assert keys.key("k1") is not None  # old, kept; a read tried in the background
    assert keys.renewals.join(PATIENCE) and keycloak.calls == 2
    now[0] = 899.0
    assert keys.key("k1") is not None
    assert keys.renewals.join(PATIENCE)
    now[0] = 900.0  # kept as long as documented: now read at once, and Keycloak is away
    with pytest.raises(Unavailable):
        keys.key("k1")
    calls = keycloak.calls
    with pytest.raises(Unavailable):  # just failed: fails fast, Keycloak not asked again at once
        keys.key("k1")
    assert keycloak.calls == calls
    keycloak.answer = {"k1": jwt.PyJWK(jwk(key, "k1"))}
    now[0] = 931.0
    assert keys.key("k1") is not None  # back: read again


def test_an_unknown_key_id_is_read_at_once_within_the_cooldown():
    old, rotated = new_key(), new_key()
    keycloak = Keycloak({"old": jwt.PyJWK(jwk(old, "old"))})
    now = [0.0]
    keys = KeySet(keycloak, refetch_cooldown=30, clock=lambda: now[0])
    assert keys.key("old") is not None
    keycloak.answer = {"old": jwt.PyJWK(jwk(old, "old")), "new": jwt.PyJWK(jwk(rotated, "new"))}
    assert keys.key("new") is None and keycloak.calls == 1  # within the cooldown: not read again
    now[0] = 31.0
    assert keys.key("new") is not None and keycloak.calls == 2  # the realm rotated its key: read now
    assert keys.key("forged") is None and keycloak.calls == 2
