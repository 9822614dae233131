"""The lists the prefecture keeps (membership screening criteria, dataset categories and licences) stop and
resume an entry's use from the same control (admin/templates/renkei/_forms.html's in_use_item)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import sign_in

CSRF = "kept-lists-csrf"


def _entries(page: str) -> list[tuple[str, str, str, str]]:
    """(form action, label shown, the value its form sends, button) of each entry of the list (what the list
    says of an entry after its button is left aside)."""
    return re.findall(r'<li><form method="post" action="([^"]+)" class="form-inline">.*?'
                      r'<span class="mr-2">([^<]*)</span>\s*<input type="hidden" name="active" value="([01])">'
                      r'\s*<button[^>]*>([^<]+)</button>(?:<span class="ml-2">.*?</span>)?</form></li>', page, re.S)


def _press(client, url: str, action: str | None = None) -> tuple[str, str, str, str]:
    """Press the button of the entry ``action`` (the first entry when None) as the page's form sends it;
    returns the entry as the list then shows it."""
    entries = _entries(client.get(url).get_data(as_text=True))
    entry = entries[0] if action is None else next(e for e in entries if e[0] == action)
    assert client.post(entry[0], data={"csrf_token": CSRF, "active": entry[2]}).status_code == 302
    return next(e for e in _entries(client.get(url).get_data(as_text=True)) if e[0] == entry[0])


@pytest.mark.parametrize("url", ["/admin/members-checklist/", "/admin/dataset-categories/", "/admin/dataset-licences/"])
def test_an_entry_is_stopped_and_used_again_from_its_own_button(client, db, url):
    sign_in(client, csrf=CSRF)
    action, label, _, button = _entries(client.get(url).get_data(as_text=True))[0]
    assert button == "使用をやめる" and "使用停止中" not in label
    _, label, _, button = _press(client, url, action)
    assert button == "再び使う" and label.endswith("（使用停止中）")
    _, label, _, button = _press(client, url, action)
    assert button == "使用をやめる" and "使用停止中" not in label
