"""The shared kernel: what every domain package of renkei uses and none of them owns.

One home for each cross-cutting rule (see docs/architecture.md): errors and problem kinds
(:mod:`core.errors`), the acting person (:mod:`core.actor`), the metadata and column types
(:mod:`core.db`), field validation messages (:mod:`core.validation`), the authorization policy
(:mod:`core.authz`), the calendar (:mod:`core.calendar`), local-government codes
(:mod:`core.codes`), CSV reading (:mod:`core.csvfile`), the audit append (:mod:`core.audit`) and
the notification outbox (:mod:`core.outbox`).

The kernel imports no domain package (tenancy, billing, governance) and never Flask; a test in
tests/test_layout.py keeps it so.
"""
