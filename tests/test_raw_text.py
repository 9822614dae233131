"""The raw-text rule (tests/raw_text.py) catches each shape the issue names and lets words, addresses,
paths and file names through (two-part codes such as ``tenant.create`` are the crawl's list of known
codes' to catch: as a shape they cannot be told from a file name)."""

from __future__ import annotations

import pytest

from tests.raw_text import first_rows_text, raw_shapes


@pytest.mark.parametrize("text, raw", [
    ("連絡先 role='admin' id=1 department='総務企画部'", "role='admin'"),
    ("<tenancy.registry.models.Tenant object at 0x7f3eaf712c90>", "object at 0x7f3eaf712c90"),
    ('変更内容 {"population": 1}', '{"population":'),
    ("変更内容 {'population': 1}", "{'population':"),
    ("操作tenant.suspend.undoを記録", "tenant.suspend.undo"),
    ("状態 designated_city", "designated_city"),
    ("種別: api_calls（件）", "api_calls"),
])
def test_each_raw_shape_is_caught(text, raw):
    assert raw in raw_shapes(text)


@pytest.mark.parametrize("text", [
    "担当 dx-admin@minamata.example.jp", "https://renkei.example.jp/admin/tenants/?sort=name_ja",
    "ファイル kumamoto_wave2_fy2025.csv を選ぶ", "/admin/consent/export.csv", "catalog.ttl", "CSV (Excel)",
    "熊本市 様", "grant_type=client_credentials", "1,234,567 円", "令和7年度", "README.md の手順",
])
def test_words_addresses_paths_and_file_names_pass(text):
    assert raw_shapes(text) == {}


def test_the_first_rows_of_a_csv_and_a_workbook_are_read_as_text():
    from openpyxl import Workbook

    csv_body = "団体コード,種別\r\n431001,designated_city\r\n".encode("cp932")
    assert list(raw_shapes(first_rows_text(csv_body, "text/csv; charset=shift_jis"))) == ["designated_city"]
    book = Workbook()
    book.active.append(["操作", "詳細"])
    book.active.append(["tenant.suspend.undo", None])
    saved = __import__("io").BytesIO()
    book.save(saved)
    assert "tenant.suspend.undo" in raw_shapes(first_rows_text(saved.getvalue(), "application/octet-stream"))
    assert first_rows_text(b"\x89PNG", "image/png") is None
