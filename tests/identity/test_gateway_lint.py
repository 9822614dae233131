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


def test_a_config_without_timeouts_on_the_check_is_named_with_them(tmp_path):
    """nginx waits 60 s by default: a hung renkei would hold every consumer that long (issue 51)."""
    recipe = RECIPE.read_text(encoding="utf-8")
    assert "proxy_connect_timeout 2s;" in recipe and "proxy_read_timeout 5s;" in recipe
    slow = recipe.replace("        proxy_connect_timeout 2s;\n        proxy_read_timeout 5s;\n", "", 1) \
        .replace("proxy_pass http://renkei_check/api/v1/gateway/auth;",
                 "proxy_pass http://renkei_check/api/v1/gateway/auth;\n        proxy_read_timeout 60s;", 1)
    (tmp_path / "slow.conf").write_text(slow, encoding="utf-8")
    result = lint(tmp_path / "slow.conf")
    assert result.exit_code == 1, result.output
    assert "proxy_connect_timeout is not set (60s)" in result.output and "add 'proxy_connect_timeout 2s;'" in result.output
    assert "proxy_read_timeout is 60s" in result.output and "add 'proxy_read_timeout 5s;'" in result.output


def test_a_header_set_from_the_consumers_own_header_is_named(tmp_path):
    passed_on = RECIPE.read_text(encoding="utf-8").replace(
        "proxy_set_header X-Original-Method $request_method;", "proxy_set_header X-Original-Method $http_x_original_method;")
    (tmp_path / "passed.conf").write_text(passed_on, encoding="utf-8")
    result = lint(tmp_path / "passed.conf")
    assert result.exit_code == 1
    assert "X-Original-Method is set from a header of the consumer's ($http_x_original_method)" in result.output
    assert "recipe hash" not in result.output  # a config that does not pass gets no hash to bind a credential to


def recipe_hash_of(output: str) -> str:
    import re

    return re.search(r"recipe hash ([0-9a-f]{32})", output).group(1)


def test_a_passing_location_gets_its_recipe_hash_and_an_edit_after_it_is_named(tmp_path):
    """The hash binds the gateway's credential to the location that passed (docs/gateway.md): it covers
    every directive of it, the credential too, so a changed location no longer matches the line it sends."""
    recipe = RECIPE.read_text(encoding="utf-8")
    (tmp_path / "site.conf").write_text(recipe, encoding="utf-8")
    first = lint(tmp_path / "site.conf")
    digest = recipe_hash_of(first.output)
    assert f"add 'proxy_set_header X-Renkei-Recipe {digest};'" in first.output
    bound = recipe.replace("proxy_method GET;", f"proxy_method GET;\n        proxy_set_header X-Renkei-Recipe {digest};", 1)
    (tmp_path / "site.conf").write_text(bound, encoding="utf-8")
    result = lint(tmp_path / "site.conf")
    assert result.exit_code == 0 and f"sends its recipe hash {digest}" in result.output, result.output
    # comments and spacing do not change it; another credential does
    (tmp_path / "spaced.conf").write_text(bound.replace("proxy_method GET;", "proxy_method   GET;  # only GET"), encoding="utf-8")
    assert lint(tmp_path / "spaced.conf").exit_code == 0
    (tmp_path / "other.conf").write_text(recipe.replace("GATEWAY_CREDENTIAL", "b3RoZXI6c2VjcmV0"), encoding="utf-8")
    assert recipe_hash_of(lint(tmp_path / "other.conf").output) != digest
    # edited after it passed, keeping the old line: named, exit 1
    edited = bound.replace("proxy_set_header X-Original-URI $request_uri;", "proxy_set_header X-Original-URI $uri;")
    (tmp_path / "site.conf").write_text(edited, encoding="utf-8")
    result = lint(tmp_path / "site.conf")
    assert result.exit_code == 1 and f"X-Renkei-Recipe is {digest}" in result.output and "changed since" in result.output
