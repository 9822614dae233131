"""TokenValidator against a JWKS served over HTTP on loopback: claims, algorithms, key rotation."""

import json
import math
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tenancy.identity.tokens import InvalidToken, TokenValidator
from tests.background_server import served

ISSUER, AUDIENCE = "http://idp.test/realms/renkei", "renkei-api"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key, kid):
    data = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.fixture
def jwks():
    keys = {"keys": []}
    fetches = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            fetches.append(time.time())
            body = json.dumps(keys).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with served(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        yield keys, f"http://127.0.0.1:{server.server_address[1]}/certs", fetches


def claims(**overrides):
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300, **overrides}


def sign(key, kid, **overrides):
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers={"kid": kid})


def test_a_good_token_gives_its_claims(jwks):
    keys, url, _ = jwks
    key = new_key()
    keys["keys"].append(jwk(key, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE, leeway=0)
    assert validator.claims(sign(key, "k1"))["sub"] == "user-1"


@pytest.mark.parametrize("overrides,reason", [
    # times relative to now are computed when the test runs (a callable of now), never at import
    (lambda now: {"exp": now - 60}, "expired"),
    (lambda now: {"nbf": now + 600}, "not valid yet"),
    (lambda now: {"iss": "http://idp.test/realms/other"}, "another issuer"),
    (lambda now: {"aud": "someone-else"}, "another audience"),
])
def test_bad_claims_are_refused_with_the_reason(jwks, overrides, reason):
    overrides = overrides(int(time.time()))
    keys, url, _ = jwks
    key = new_key()
    keys["keys"].append(jwk(key, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE, leeway=0)
    with pytest.raises(InvalidToken) as caught:
        validator.claims(sign(key, "k1", **overrides))
    assert reason in caught.value.message_en


def test_alg_none_and_hmac_are_refused_before_any_key_lookup(jwks):
    keys, url, fetches = jwks
    key = new_key()
    keys["keys"].append(jwk(key, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE)
    unsigned = jwt.encode(claims(), None, algorithm="none")
    # key confusion: HS256 "signed" with a secret an attacker might guess (e.g. the public key text)
    confused = jwt.encode(claims(), "a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256", headers={"kid": "k1"})
    for token in (unsigned, confused):
        with pytest.raises(InvalidToken):
            validator.claims(token)
    assert fetches == []


def test_a_rotated_key_is_fetched_and_an_unknown_one_refused(jwks):
    keys, url, fetches = jwks
    old, new = new_key(), new_key()
    keys["keys"].append(jwk(old, "old"))
    validator = TokenValidator(ISSUER, url, AUDIENCE, refetch_cooldown=0)
    validator.claims(sign(old, "old"))
    validator.claims(sign(old, "old"))
    assert len(fetches) == 1  # cached
    keys["keys"].append(jwk(new, "new"))  # the realm rotates its key
    assert validator.claims(sign(new, "new"))["sub"] == "user-1"
    assert len(fetches) == 2
    stranger = new_key()
    with pytest.raises(InvalidToken) as caught:
        validator.claims(sign(stranger, "stranger"))
    assert "unknown key" in caught.value.message_en


def test_a_signature_by_another_key_with_a_known_kid_is_refused(jwks):
    keys, url, _ = jwks
    real, forger = new_key(), new_key()
    keys["keys"].append(jwk(real, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE)
    with pytest.raises(InvalidToken) as caught:
        validator.claims(sign(forger, "k1"))
    assert "signature" in caught.value.message_en


def test_unknown_key_ids_do_not_refetch_within_the_cooldown(jwks):
    keys, url, fetches = jwks
    known = new_key()
    keys["keys"].append(jwk(known, "known"))
    validator = TokenValidator(ISSUER, url, AUDIENCE, refetch_cooldown=60)
    validator.claims(sign(known, "known"))
    for i in range(20):
        with pytest.raises(InvalidToken):
            validator.claims(sign(new_key() if i == 0 else known, f"forged-{i}"))
    assert len(fetches) == 1


# --- verified tokens are remembered until their expiry (issue #12: the API's hot paths) ----------

def test_a_remembered_token_is_refused_once_it_has_expired(jwks):
    keys, url, _ = jwks
    key = new_key()
    keys["keys"].append(jwk(key, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE, leeway=0)
    expires = math.ceil(time.time() + 0.5)  # whole seconds of the real clock, at least half a second ahead
    token = sign(key, "k1", exp=expires)
    assert validator.claims(token)["sub"] == "user-1"
    assert validator.claims(token)["sub"] == "user-1"  # remembered
    while (left := expires - time.time()) > 0:
        time.sleep(left)  # until the condition above (the clock at the token's exp)
    with pytest.raises(InvalidToken) as caught:
        validator.claims(token)
    assert "expired" in caught.value.message_en


def test_a_remembered_token_is_checked_again_in_full_from_its_expiry(jwks):
    """Within its lifetime a token is taken from memory; from its ``exp`` on (the cache's clock),
    never: it goes through every check again."""
    keys, url, _ = jwks
    key = new_key()
    keys["keys"].append(jwk(key, "k1"))
    now = [time.time()]
    validator = TokenValidator(ISSUER, url, AUDIENCE, leeway=0, clock=lambda: now[0])
    token = sign(key, "k1")
    validator.claims(token)
    checks = []
    verify = validator._verify
    validator._verify = lambda t: checks.append(t) or verify(t)
    assert validator.claims(token)["sub"] == "user-1"
    assert checks == []  # remembered: no second signature check
    now[0] = jwt.decode(token, options={"verify_signature": False})["exp"]
    validator.claims(token)
    assert checks == [token]


def test_a_forged_copy_of_an_accepted_token_is_still_refused(jwks):
    keys, url, _ = jwks
    real, forger = new_key(), new_key()
    keys["keys"].append(jwk(real, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE, leeway=0)
    genuine = sign(real, "k1")
    assert validator.claims(genuine)["sub"] == "user-1"
    payload = jwt.decode(genuine, options={"verify_signature": False})
    forged = jwt.encode({**payload, "realm_access": {"roles": ["platform-operator"]}}, forger, algorithm="RS256",
                        headers={"kid": "k1"})
    with pytest.raises(InvalidToken) as caught:
        validator.claims(forged)
    assert "signature" in caught.value.message_en


def test_claims_handed_out_cannot_change_what_is_remembered(jwks):
    keys, url, _ = jwks
    key = new_key()
    keys["keys"].append(jwk(key, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE, leeway=0)
    token = sign(key, "k1")
    validator.claims(token)["sub"] = "someone-else"
    assert validator.claims(token)["sub"] == "user-1"


def test_with_the_default_leeway_a_token_expired_six_seconds_ago_is_refused(jwks):
    """Issue 26: an expired token was accepted for 30 s more; the leeway is now at most 5 s."""
    keys, url, _ = jwks
    key = new_key()
    keys["keys"].append(jwk(key, "k1"))
    validator = TokenValidator(ISSUER, url, AUDIENCE)  # the default leeway
    now = int(time.time())
    with pytest.raises(InvalidToken, match="expired"):
        validator.claims(sign(key, "k1", iat=now - 306, exp=now - 6))
