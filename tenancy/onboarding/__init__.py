"""Onboarding: the tenant lifecycle (explicit transition table with pluggable guards) and the
resumable provisioning saga, waves and offboarding."""
