"""A real renkei worker process for the gateway's kill test (tests/usage/test_gateway_call_log.py).

    python -c 'from tests.usage.gateway_worker import main; main()' PORT AZP TOKEN_FILE

``admin:create_app()`` configured only by the environment (the test's database, the call log's
folder), served by werkzeug (threaded) on PORT. No Keycloak: the consumer's tokens are checked
by renkei's own TokenValidator against a key made here (the token for API client AZP is written to
TOKEN_FILE), and the gateway's Basic credential is taken as a metering client's, as
bench/bench_gateway_check.py does. Everything else (the check, the count, the call log and its
folding thread) is the production code.
"""

from __future__ import annotations

import json
import sys
import time


def install_keys(app, azp: str) -> str:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from admin.auth import issuer
    from tenancy.identity.gateway import GatewayCredentials
    from tenancy.identity.tokens import TokenValidator

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.PyJWK(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "t", "alg": "RS256"})
    validator = TokenValidator(issuer(app), "http://127.0.0.1:9/certs", app.config["RENKEI_API_AUDIENCE"])

    class Keys:
        def get_signing_key_from_jwt(self, token):
            return public

    validator._jwks = Keys()
    app.extensions["renkei_token_validator"] = validator

    def exchange(client_id: str, secret: str) -> dict:
        return {"iss": "test", "sub": "test-gateway", "azp": client_id, "exp": time.time() + 3600,
                "realm_access": {"roles": ["metering-client"]}}

    app.extensions["renkei_gateway_credentials"] = GatewayCredentials(exchange, max_age=3600)
    now = int(time.time())
    return jwt.encode({"iss": issuer(app), "aud": app.config["RENKEI_API_AUDIENCE"], "sub": "test-client", "azp": azp,
                       "iat": now, "exp": now + 3600, "renkei_tenant": "431001", "scope": "broker.read"},
                      key, algorithm="RS256", headers={"kid": "t"})


def main() -> None:
    from werkzeug.serving import run_simple

    from admin import create_app

    port, azp, token_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = create_app()
    token = install_keys(app, azp)
    with open(token_file + ".part", "w") as file:
        file.write(token)
    import os

    os.replace(token_file + ".part", token_file)
    run_simple("127.0.0.1", port, app, threaded=True)
