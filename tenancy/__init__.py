"""Tenancy: municipalities as tenants, onboarding, and identity in Keycloak. Never imports Flask."""
