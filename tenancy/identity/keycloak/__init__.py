"""renkei's use of Keycloak: the only package that imports python-keycloak.

Two parts:

* :func:`bootstrap_realm` (run with the master realm's admin credentials) creates, idempotently,
  the platform realm, its roles, the ``/tenants`` group, the clients and the token mappers. It
  returns the list of changes it made: empty on a second run (:mod:`.realm`).
* :class:`IdentityDirectory` (run with renkei's own service account, which holds only
  ``manage-users``, ``view-users``, ``query-groups`` and ``view-realm`` of realm-management) does
  the per-tenant work: tenant groups, invitations, roles, enable/disable, removal (:mod:`.directory`).

Tokens and sign-in are in :mod:`.tokens`; settings, constants and the translation of errors in
:mod:`.common`; the residents' realm in :mod:`.residents_realm`, and the demo's stand-in for the card
app (デジタル認証アプリ) in :mod:`.card_standin`. Callers import from this package, not from its modules.

Tenants are groups under ``/tenants/<code>``; see docs/identity.md for why not Organizations.
Keycloak errors become domain errors: a duplicate is :class:`Conflict`; Keycloak unreachable or
answering 5xx is :class:`IdentityUnavailable` (retryable).
"""

from tenancy.identity.keycloak.card_standin import STANDIN_NAME, STANDIN_REALM, ensure_card_holder, ensure_card_standin
from tenancy.identity.keycloak.common import (ACCOUNT_EMAIL_PATTERN, API_AUDIENCE_SCOPE, CONFIGURE_TOTP,
                                              DEFAULT_TIMEOUT_SECONDS, DEVICE_GRANT, REALM_ROLES, ROLE_DESCRIPTIONS,
                                              SERVICE_ACCOUNT_ROLES, SETUP_LINK_LIFESPAN_SECONDS, TENANTS_SCOPE,
                                              TOTP_ROLES, UPDATE_PASSWORD, VERIFY_EMAIL, KeycloakSettings,
                                              outcome_unknown, realm_smtp, translate_errors)
from tenancy.identity.keycloak.directory import Account, IdentityDirectory
from tenancy.identity.keycloak.realm import (ask_for_totp, bootstrap_realm, client_secret, ensure_machine_client,
                                             master_admin, realm_security)
from tenancy.identity.keycloak.residents_realm import (PROVIDER_CLAIM, PROVIDER_SCOPES, delete_provider_accounts,
                                                       ensure_provider, ensure_residents_realm, erase_stored_claims)
from tenancy.identity.keycloak.tokens import (DEVICE_PENDING, DEVICE_SLOW_DOWN, SIGN_IN_UNAVAILABLE,
                                              check_sign_in_service, client_credentials_token, client_token_or_none,
                                              device_authorization, device_token, end_session, password_token,
                                              refresh_tokens)

__all__ = [
    "ACCOUNT_EMAIL_PATTERN", "API_AUDIENCE_SCOPE", "CONFIGURE_TOTP", "DEFAULT_TIMEOUT_SECONDS", "DEVICE_GRANT",
    "REALM_ROLES", "ROLE_DESCRIPTIONS", "SERVICE_ACCOUNT_ROLES", "SETUP_LINK_LIFESPAN_SECONDS", "TENANTS_SCOPE",
    "TOTP_ROLES", "UPDATE_PASSWORD", "VERIFY_EMAIL", "KeycloakSettings", "outcome_unknown", "realm_smtp",
    "translate_errors", "Account", "IdentityDirectory", "ask_for_totp", "bootstrap_realm", "client_secret",
    "ensure_machine_client", "master_admin", "realm_security", "SIGN_IN_UNAVAILABLE", "check_sign_in_service",
    "client_credentials_token", "client_token_or_none", "DEVICE_PENDING", "DEVICE_SLOW_DOWN", "device_authorization",
    "device_token", "end_session",
    "password_token", "refresh_tokens", "PROVIDER_CLAIM", "PROVIDER_SCOPES", "ensure_provider", "ensure_residents_realm",
    "delete_provider_accounts", "erase_stored_claims", "STANDIN_NAME", "STANDIN_REALM", "ensure_card_holder",
    "ensure_card_standin",
]
