"""`renkei clients`: create (secret printed once), list, revoke; bad input refused in both languages."""

import datetime as dt

import sqlalchemy as sa

from core.calendar import today_jst


def run(app, *args):
    return app.test_cli_runner().invoke(args=["clients", *args, "--as", "tanaka"])


def test_create_list_and_revoke_from_the_command_line(app, db, tenant_factory, directory):
    tenant_factory("431001")
    expires = (today_jst() + dt.timedelta(days=10)).isoformat()
    created = run(app, "create", "--tenant", "431001", "--name", "夜間バッチ", "--purpose", "統計データの取得",
                  "--scope", "catalog.read", "--expires", expires, "--allow", "192.0.2.0/24")
    assert created.exit_code == 0, created.stderr
    lines = dict(line.split("\t") for line in created.stdout.splitlines())
    assert lines["client_id"] and lines["client_secret"]
    listed = run(app, "list")
    assert "夜間バッチ" in listed.stdout and "192.0.2.0/24" in listed.stdout and lines["client_secret"] not in listed.stdout
    number = listed.stdout.split("\t")[0]
    revoked = run(app, "revoke", number, "--yes")
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout


def test_a_wrong_network_or_a_past_expiry_is_refused_in_words(app, db, tenant_factory):
    tenant_factory("431001")
    yesterday = (today_jst() - dt.timedelta(days=1)).isoformat()
    refused = run(app, "create", "--tenant", "431001", "--name", "x", "--purpose", "y", "--expires", yesterday,
                  "--allow", "10.0.0.0/33")
    assert refused.exit_code == 2
    assert "IPv4 のプレフィックス長は 0〜32" in refused.stderr and "有効期限は本日" in refused.stderr
    assert run(app, "list").stdout == ""


def test_the_command_line_grants_every_scope_the_api_does(app, db, tenant_factory, directory):
    """A data service's client (residents:broker) and a resident app's (consent:write) are made from the command
    line as through the API (renkei issue 50 item 6)."""
    tenant_factory("431001")
    expires = (today_jst() + dt.timedelta(days=10)).isoformat()
    created = run(app, "create", "--tenant", "431001", "--name", "子育て支援サービス", "--purpose", "住民データの仲介",
                  "--scope", "residents:broker", "--scope", "consent:write", "--expires", expires,
                  "--allow", "192.0.2.0/24")
    assert created.exit_code == 0, created.stderr
    from tenancy.identity.models import ApiClient

    row = db.scalars(sa.select(ApiClient).where(ApiClient.name == "子育て支援サービス")).one()
    assert set(row.scopes.split()) == {"residents:broker", "consent:write"}
