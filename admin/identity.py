"""The app's :class:`tenancy.identity.keycloak.IdentityDirectory`, built once from configuration."""

from __future__ import annotations

from flask import current_app

from tenancy.identity.keycloak import IdentityDirectory, KeycloakSettings


def keycloak_settings(app=None) -> KeycloakSettings:
    config = (app or current_app).config
    return KeycloakSettings(
        url=config["RENKEI_KEYCLOAK_URL"],
        realm=config["RENKEI_KEYCLOAK_REALM"],
        admin_client_id=config["RENKEI_OIDC_CLIENT_ID"],
        admin_client_secret=config["RENKEI_OIDC_CLIENT_SECRET"],
        service_client_id=config["RENKEI_SERVICE_CLIENT_ID"],
        service_client_secret=config["RENKEI_SERVICE_CLIENT_SECRET"],
        api_audience=config["RENKEI_API_AUDIENCE"],
        timeout=float(config.get("RENKEI_KEYCLOAK_TIMEOUT", 3)),
        access_token_seconds=int(config.get("RENKEI_ACCESS_TOKEN_SECONDS", 300)),
        require_totp=bool(config.get("RENKEI_REQUIRE_TOTP", False)),
        password_hash_iterations=config.get("RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS"),
        smtp={"host": config["RENKEI_SMTP_HOST"], "port": config.get("RENKEI_SMTP_PORT", 25),
              "from": config.get("RENKEI_SMTP_FROM", ""), "user": config.get("RENKEI_SMTP_USER", ""),
              "password": config.get("RENKEI_SMTP_PASSWORD", ""), "starttls": config.get("RENKEI_SMTP_STARTTLS", False)}
        if config.get("RENKEI_SMTP_HOST") else None,
    )


def identity_directory() -> IdentityDirectory:
    app = current_app._get_current_object()
    directory = app.extensions.get("renkei_identity")
    if directory is None:
        directory = IdentityDirectory(keycloak_settings(app))
        app.extensions["renkei_identity"] = directory
    return directory


def measured_levels(code: str) -> dict[str, int]:
    """Usage levels counted now at their source, for the pages that show a tenant's usage against its
    limits: its user seats from Keycloak's accounts (:func:`tenancy.identity.operations.seats_used`),
    never the stored figure, which is only as fresh as the last ``renkei usage record-seats``. Empty when
    Keycloak cannot answer (the page then shows the stored figure) or where the app is told not to ask
    (``RENKEI_SEATS_FROM_KEYCLOAK`` off: the test app, whose tests of other pages run without Keycloak)."""
    from admin.extensions import db
    from core.errors import DomainError
    from tenancy.identity.operations import seats_used

    if not current_app.config.get("RENKEI_SEATS_FROM_KEYCLOAK", True):
        return {}
    try:
        return {"user_seats": seats_used(db.session, identity_directory(), code)}
    except DomainError as error:  # one line, not a traceback per page while Keycloak is away
        current_app.logger.warning("user seats of %s not counted in Keycloak (%s); the stored count is shown",
                                   code, error.message_en)
        return {}


def secretariat_people() -> dict[str, str]:
    """The secretariat's people (user id → 「姓 名」), asked of Keycloak: the owners the progress pages, the API and
    ``renkei progress`` let one pick (:func:`secretariat.progress.secretariat_people`)."""
    from secretariat import progress

    return progress.secretariat_people(identity_directory())
