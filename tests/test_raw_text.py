"""The raw-text rule (tests/raw_text.py) catches each shape the issue names and lets words, addresses,
paths and file names through (two-part codes such as ``tenant.create`` are the crawl's list of known
codes' to catch: as a shape they cannot be told from a file name). In the Japanese UI's own words it
also catches English words outside its short list, and lets the terms an office writes as they are,
addresses, file names and codes with digits through."""

from __future__ import annotations

import pytest

from tests.raw_text import download_raw_text, first_rows_text, raw_shapes


@pytest.mark.parametrize("text, raw", [
    ("連絡先 role='admin' id=1 department='総務企画部'", "role='admin'"),
    ("<tenancy.registry.models.Tenant object at 0x7f3eaf712c90>", "object at 0x7f3eaf712c90"),
    ('変更内容 {"population": 1}', '{"population":'),
    ("変更内容 {'population': 1}", "{'population':"),
    ("操作tenant.suspend.undoを記録", "tenant.suspend.undo"),
    ("状態 designated_city", "designated_city"),
    ("種別: api_calls（件）", "api_calls"),
    ("1 行目: distributions.0.url: 値が必要です", "distributions.0.url"),
    ("「あり」はコード表の値（['有', '無']）のいずれでもありません。", "['有', '無']"),
    ('値は ["有", "無"] のどれか', '["有", "無"]'),
    ("「abc」はではありません。", "はではありません"),
    ("「」は数値ではありません。", "「」"),
])
def test_each_raw_shape_is_caught(text, raw):
    assert raw in raw_shapes(text)


@pytest.mark.parametrize("text", [
    "担当 dx-admin@minamata.example.jp", "https://renkei.example.jp/admin/tenants/?sort=name_ja",
    "ファイル kumamoto_wave2_fy2025.csv を選ぶ", "/admin/consent/export.csv", "catalog.ttl", "CSV (Excel)",
    "熊本市 様", "grant_type=client_credentials", "1,234,567 円", "令和7年度", "README.md の手順",
    "「あり」はコード表の値（有、無）のいずれでもありません。", "「abc」は数値ではありません。", "[1, 2]", "[注]",
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


@pytest.mark.parametrize("text, word", [
    ("状態: pending", "pending"),
    ("利用上限プラン: 大規模団体（large）", "large"),
    ("Save the settings", "Save"),
    ("2020 census preliminary count", "census"),
    ("申請を Approve する", "Approve"),
    ("担当者の e-mail を入力", "e-mail"),
    ("ダウンロード (Download)", "Download"),
])
def test_an_english_word_in_the_japanese_ui_is_caught(text, word):
    assert word in raw_shapes(text, words=True)
    assert raw_shapes(text) == {}  # in data (a table cell, a form value) a word is the person's own


@pytest.mark.parametrize("text", [
    "CSV (Excel) をダウンロード", "グラフ（PNG）", "API クライアント", "利用者ID", "Keycloak の管理画面", "CC BY 4.0",
    "容量 12.5 GiB", "「記録そのまま」の CSV と JSON Lines", "A案 と B案 を比べる", "A4 判 1 枚", "請求番号 INV-001",
    "担当 dx-admin@minamata.example.jp", "https://renkei.example.jp/admin/?lang=en", "kumamoto_wave2_fy2025.csv",
    "catalog.ttl を開く", "/admin/consent/export.csv", "AED設置箇所一覧", "公衆無線LANアクセスポイント一覧", "令和7年度",
])
def test_terms_an_office_writes_as_they_are_pass_in_the_japanese_ui(text):
    assert raw_shapes(text, words=True) == {}


def test_a_downloads_header_is_its_own_words_and_its_rows_are_data():
    header_word = "団体コード,status,団体名\r\n431001,active,熊本市\r\n".encode("utf-8")
    assert list(download_raw_text(header_word, "text/csv")) == ["status"]  # "active" is the known codes' to catch
    data_word = "団体コード,データセット名\r\n431001,Open Data Kumamoto\r\n".encode("utf-8")
    assert download_raw_text(data_word, "text/csv") == {}
    shape_in_rows = "団体コード,種別\r\n431001,designated_city\r\n".encode("utf-8")
    assert list(download_raw_text(shape_in_rows, "text/csv")) == ["designated_city"]
    assert download_raw_text(b"%PDF-1.7", "application/pdf") is None
