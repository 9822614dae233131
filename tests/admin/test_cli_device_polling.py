"""`renkei login`'s polling of the device flow follows RFC 8628, 3.5: it asks for the tokens at the
interval Keycloak gave (5 s when it gave none), and 5 s less often from each ``slow_down`` on.
Keycloak's answers are scripted and the pauses recorded, not slept; the flow itself, driven for real
against Keycloak, is tests/admin/test_cli_device_login.py."""

from __future__ import annotations

import types

from admin.commands import signin
from tenancy.identity.keycloak import DEVICE_PENDING, DEVICE_SLOW_DOWN


def polled(monkeypatch, started: dict, answers: list) -> tuple[dict, list[float]]:
    """The tokens ``renkei login`` ends with, and its pauses before each request, when Keycloak starts
    the flow with ``started`` and answers the polls with ``answers`` in turn."""
    pauses: list[float] = []
    monkeypatch.setattr(signin.time, "sleep", pauses.append)
    left = list(answers)
    keycloak = types.SimpleNamespace(
        DEVICE_SLOW_DOWN=DEVICE_SLOW_DOWN,
        device_authorization=lambda settings: {"verification_uri": "https://id.example/device", "user_code": "ABCD-EFGH",
                                               "device_code": "device-code", **started},
        device_token=lambda settings, device_code, verifier: left.pop(0))
    return signin._device_flow(None, keycloak), pauses


def test_login_polls_at_the_interval_keycloak_gives_and_five_seconds_slower_after_each_slow_down(monkeypatch):
    tokens = {"access_token": "a", "refresh_token": "r"}
    answers = [DEVICE_PENDING, DEVICE_SLOW_DOWN, DEVICE_PENDING, DEVICE_SLOW_DOWN, DEVICE_PENDING, tokens]
    got, pauses = polled(monkeypatch, {"interval": 2, "expires_in": 600}, answers)
    assert got == tokens
    assert pauses == [2, 2, 7, 7, 12, 12]


def test_without_an_interval_login_polls_every_five_seconds(monkeypatch):
    tokens = {"access_token": "a", "refresh_token": "r"}
    got, pauses = polled(monkeypatch, {"expires_in": 600}, [DEVICE_PENDING, tokens])
    assert got == tokens
    assert pauses == [5, 5]
