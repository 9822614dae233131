"""A real bearer token for the API benchmarks: a locally generated RSA key, its JWKS served on
loopback, and an access token signed with it that renkei's ordinary :class:`TokenValidator`
trusts (the app is pointed at the local JWKS by its usual settings). So the benchmarks pay for
the whole token path as production does: header parse, JWKS lookup on first use, signature check
once per token, then the verified-token cache, and the deny list on every request. It answers the
admin API renkei reads in the background (a service account's token, no admin events) and can be
frozen (:meth:`LocalIssuer.freeze`) as a Keycloak stopped with SIGSTOP.

    issuer = LocalIssuer(); settings = issuer.settings(); token = issuer.token(roles=["platform-operator"])
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REALM = "renkei-bench"
AUDIENCE = "renkei-api"


class LocalIssuer:
    """An RSA key and a JWKS endpoint on 127.0.0.1 (a daemon thread of this process)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = {**json.loads(RSAAlgorithm.to_jwk(self.key.public_key())), "kid": "bench", "alg": "RS256", "use": "sig"}
        body = json.dumps({"keys": [jwk]}).encode()

        issuer = self
        self.thawed = threading.Event()  # cleared by freeze(): the admin API then never answers
        self.thawed.set()
        self.keys_frozen = False

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path.endswith("/certs"):
                    if issuer.keys_frozen:
                        issuer.thawed.wait()
                    self._send(body)
                else:  # the admin API (admin events): nothing new, or no answer at all while frozen
                    issuer.thawed.wait()
                    self._send(b"[]")

            def do_POST(self):  # noqa: N802  (the service account's token for the admin API)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                issuer.thawed.wait()
                self._send(json.dumps({"access_token": issuer.token(subject="bench-service"), "expires_in": 300,
                                       "refresh_expires_in": 0, "token_type": "Bearer"}).encode())

            def _send(self, payload: bytes) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # renkei gave up on a frozen answer and closed the connection
                    pass

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings(self) -> dict[str, str]:
        """The app settings (also valid as environment variables) that make it trust this key."""
        return {"RENKEI_KEYCLOAK_URL": self.url, "RENKEI_KEYCLOAK_PUBLIC_URL": self.url,
                "RENKEI_KEYCLOAK_REALM": REALM, "RENKEI_API_AUDIENCE": AUDIENCE}

    def token(self, roles=("platform-operator",), subject: str = "bench-operator", seconds: int = 3600) -> str:
        import jwt

        now = int(time.time())
        claims = {"iss": f"{self.url}/realms/{REALM}", "aud": AUDIENCE, "sub": subject, "iat": now,
                  "exp": now + seconds, "azp": "bench", "realm_access": {"roles": list(roles)}}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "bench"})

    def freeze(self, keys: bool = False) -> None:
        """As a Keycloak stopped with SIGSTOP: connections are accepted, the admin API and the token
        endpoint never answer (the JWKS still does, unless ``keys``)."""
        self.keys_frozen = keys
        self.thawed.clear()

    def thaw(self) -> None:
        self.thawed.set()
        self.keys_frozen = False

    def close(self) -> None:
        self.thaw()
        self._server.shutdown()
        self._server.server_close()


def install_validator(app, kid: str = "bench"):
    """renkei's own :class:`TokenValidator` installed on ``app``, trusting an RSA key made here (its key
    set a stub: no JWKS is fetched, no Keycloak needed); returns ``token(azp, subject=..., tenant=...,
    scope=...)``, which signs a client-credentials token of API client ``azp`` that it accepts. Used by
    bench/bench_gateway_check.py and the kill test's worker (tests/usage/gateway_worker.py)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    from admin.auth import issuer
    from tenancy.identity.tokens import TokenValidator

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.PyJWK(json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": kid, "alg": "RS256"})
    audience = app.config["RENKEI_API_AUDIENCE"]
    validator = TokenValidator(issuer(app), "http://127.0.0.1:9/certs", audience, read_keys=lambda: {kid: public})
    app.extensions["renkei_token_validator"] = validator

    def token(azp: str, subject: str = "bench-client", tenant: str = "431001", scope: str = "broker.read") -> str:
        now = int(time.time())
        return jwt.encode({"iss": issuer(app), "aud": audience, "sub": subject, "azp": azp, "iat": now,
                           "exp": now + 3600, "renkei_tenant": tenant, "scope": scope},
                          key, algorithm="RS256", headers={"kid": kid})

    return token


def install_gateway_credential(app, client_id: str = "bench-gateway", secret: str = "bench-secret") -> dict[str, str]:
    """The gateway's own credential as ``GET /gateway/auth`` checks it: Keycloak's exchange stands for a
    metering client's claims (the first call; later ones find the pair remembered, as in production).
    Returns the gateway's ``Authorization`` header."""
    import base64

    from tenancy.identity.gateway import GatewayCredentials

    def exchange(client_id: str, secret: str) -> dict:
        return {"iss": "bench", "sub": "bench-gateway", "azp": client_id, "exp": time.time() + 3600,
                "realm_access": {"roles": ["metering-client"]}}

    app.extensions["renkei_gateway_credentials"] = GatewayCredentials(exchange, max_age=3600)
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
