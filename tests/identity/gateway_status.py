"""What a gateway reads from renkei's gateway check: the HTTP status of each decision's reason,
as the gateway recipe (docs/gateway.md) expects it."""

STATUS_OF = {
    "allowed": 200,
    # the consumer's credential is no good: get a new token, or a new client
    "token_invalid": 401, "client_revoked": 401, "client_disabled": 401, "client_expired": 401, "secret_rotated": 401,
    # the call is not allowed
    "not_an_api_client": 403, "address_not_allowed": 403, "tenant_not_active": 403, "scope_missing": 403,
    "route_not_known": 403,
    # the tenant's quota is used up (with Retry-After)
    "hard_limit_reached": 429,
}
