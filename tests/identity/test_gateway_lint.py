"""`renkei gateway lint FILE`: the shipped recipe is clean; a config written from nginx's documentation
(the credential set, the consumer's headers passed on) is named header by header, with the remedy."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from admin.cli import main
from tests.identity.test_gateway_nginx import RECIPE

# from nginx's auth_request documentation: the credential set, not every X-Original-*, headers passed on
STOCK = """
server {
    listen 80;  # the consumers
    location / {
        auth_request /auth;
        proxy_pass http://api;
    }
    include auth.d/*.conf;
}
"""
STOCK_AUTH = """
location = /auth {
    internal;
    proxy_pass http://renkei/api/v1/gateway/auth;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header Authorization "Basic Zm9vOmJhcg=="; # the gateway's credential
    proxy_set_header X-Original-URI $request_uri;
    proxy_set_header X-Original-Authorization $http_authorization;
}
"""


def lint(path: Path):
    return CliRunner().invoke(main, ["gateway", "lint", str(path)])


def test_the_recipe_is_clean():
    result = lint(RECIPE)
    assert result.exit_code == 0, result.output
    assert "sets every header" in result.output


def test_a_stock_config_is_named_header_by_header_with_the_remedy(tmp_path):
    (tmp_path / "auth.d").mkdir()
    (tmp_path / "auth.d" / "check.conf").write_text(STOCK_AUTH, encoding="utf-8")
    (tmp_path / "site.conf").write_text(STOCK, encoding="utf-8")
    result = lint(tmp_path / "site.conf")
    assert result.exit_code == 1, result.output
    assert "proxy_pass_request_headers off;" in result.output
    assert "proxy_set_header X-Original-Method $request_method;" in result.output
    assert "proxy_set_header X-Original-Remote-Addr $remote_addr;" in result.output
    # which dataset a broker call uses is read from its Fiware headers (issue 37)
    assert "proxy_set_header X-Original-Fiware-Service $http_fiware_service;" in result.output
    assert "proxy_set_header X-Original-Fiware-ServicePath $http_fiware_servicepath;" in result.output
    assert "X-Original-URI" not in result.output and "X-Original-Authorization" not in result.output
    assert "Authorization is not set" not in result.output


def test_a_config_that_is_not_nginx_syntax_is_refused_in_words(tmp_path):
    (tmp_path / "bad.conf").write_text("server { location / { auth_request /a;\n", encoding="utf-8")
    result = lint(tmp_path / "bad.conf")
    assert result.exit_code == 1 and "not closed" in result.output
