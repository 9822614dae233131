"""Sign-in security (issue 14, build item 7) in a real Chromium through the real Keycloak login:
an operator enrolled with TOTP signs in with a password and a one-time code.

The TOTP secret is set on the account through Keycloak's admin REST API (a credential imported
with the user), and the code is computed here from it (RFC 6238: HMAC-SHA1, 6 digits, 30 s), as an
authenticator app on the person's phone would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import struct
import time
import uuid
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def totp(secret: bytes, at: float | None = None, digits: int = 6, period: int = 30) -> str:
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def test_totp_matches_the_rfc_6238_reference():
    # RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s: 94287082 (8 digits)
    assert totp(b"12345678901234567890", at=59, digits=8) == "94287082"


def _operator_with_totp(directory) -> tuple[str, bytes]:
    username = f"totp-operator-{uuid.uuid4().hex[:6]}"
    secret = secrets.token_hex(10)  # Keycloak keys the HMAC with the secret's UTF-8 bytes
    otp = {"type": "otp", "userLabel": "phone",
           "secretData": json.dumps({"value": secret}),
           "credentialData": json.dumps({"subType": "totp", "digits": 6, "period": 30, "algorithm": "HmacSHA1",
                                         "counter": 0})}
    password = {"type": "password", "value": PASSWORD, "temporary": False}
    user_id = directory.admin.create_user({"username": username, "email": f"{username}@example.jp",
                                           "firstName": "運営者", "lastName": "熊本県", "enabled": True,
                                           "emailVerified": True, "credentials": [password, otp]})
    directory.set_roles(user_id, {"platform-operator"}, {"platform-operator"})
    return username, secret.encode()


def test_an_operator_enrolled_with_totp_signs_in_with_a_code(page, live_server, directory, db):
    username, secret = _operator_with_totp(directory)
    db.commit()
    page.goto(live_server("/login?next=/admin/"))
    assert urlsplit(page.url).hostname != live_server.host, "expected Keycloak's login page"
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#kc-login")

    # the second step: Keycloak asks for the one-time code, and renkei is not reached without it
    code_field = page.locator("#otp")
    expect(code_field).to_be_visible()
    assert not page.url.startswith(live_server.url)
    if time.time() % 30 > 25:  # do not send a code about to expire
        time.sleep(30 - time.time() % 30 + 0.5)  # TOTP codes change every 30 s: wait for the next window
    code_field.fill(totp(secret))
    page.click("#kc-login")
    page.wait_for_url(lambda url: url.startswith(live_server.url + "/admin"))
    expect(page.get_by_text("熊本県 運営者").first).to_be_visible()


def test_a_wrong_code_is_refused(page, live_server, directory, db):
    username, secret = _operator_with_totp(directory)
    db.commit()
    page.goto(live_server("/login?next=/admin/"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#kc-login")
    expect(page.locator("#otp")).to_be_visible()
    right = totp(secret)
    page.locator("#otp").fill("000000" if right != "000000" else "111111")
    page.click("#kc-login")
    expect(page.locator("#otp")).to_be_visible()  # asked again, still on Keycloak's page
    assert not page.url.startswith(live_server.url)
