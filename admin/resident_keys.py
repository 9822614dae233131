"""The residents' key ring from the app's settings (residents.crypto.keyring_from_config), read once per app:
admin.config.check has refused to start without a usable one in production."""

from __future__ import annotations

from flask import current_app

from residents.crypto import Keyring, keyring_from_config


def keyring() -> Keyring:
    ring = current_app.extensions.get("renkei_resident_keys")
    if ring is None:
        ring = current_app.extensions["renkei_resident_keys"] = keyring_from_config(current_app.config)
    return ring


def small_count() -> int:
    """The threshold below which the residents' numbers for policy work show no count (residents.figures)."""
    return int(current_app.config.get("RENKEI_RESIDENT_SMALL_COUNT", 10))
