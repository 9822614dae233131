"""Reading files from Japanese offices: encodings, header names as people write them, line numbers."""

from __future__ import annotations

import pytest

from core import csvfile
from core.errors import Invalid

COLUMNS = csvfile.Columns(
    {"code": "code", "団体コード": "code", "name_ja": "name_ja", "団体名": "name_ja", "population": "population", "人口": "population"},
    required=("code", "name_ja"),
    labels_ja={"code": "団体コード", "name_ja": "団体名", "population": "人口"},
)
TEXT = "団体コード,団体名,人口\r\n431001,熊本市,738744\r\n432024,八代市,123146\r\n"


def values(rows):
    return [(row.line, row.values) for row in rows]


EXPECTED = [
    (2, {"code": "431001", "name_ja": "熊本市", "population": "738744"}),
    (3, {"code": "432024", "name_ja": "八代市", "population": "123146"}),
]


@pytest.mark.parametrize("raw", [
    TEXT.encode("utf-8"),
    b"\xef\xbb\xbf" + TEXT.encode("utf-8"),  # Excel's "CSV UTF-8"
    TEXT.encode("cp932"),  # Excel's plain "CSV" on Japanese Windows
], ids=["utf-8", "utf-8 with BOM", "cp932"])
def test_the_same_file_reads_the_same_in_every_encoding_excel_writes(raw):
    assert values(csvfile.read(raw, COLUMNS)) == EXPECTED


def test_cp932_is_really_decoded_not_guessed():
    assert csvfile.decode("熊本県　人吉市".encode("cp932")) == "熊本県　人吉市"
    # a byte sequence valid in both: UTF-8 wins, as it comes first
    assert csvfile.decode("八代市".encode("utf-8")) == "八代市"


@pytest.mark.parametrize("raw", [
    "団体コード,団体名\n".encode("utf-16"),  # NUL bytes: would "decode" as CP932 into garbage
    b"code,name_ja\n431001,\x82\xff\xfe\n",  # neither UTF-8 nor CP932
], ids=["utf-16", "undecodable bytes"])
def test_a_file_in_neither_encoding_is_refused_in_both_languages(raw):
    with pytest.raises(csvfile.FileRejected) as refused:
        csvfile.read(raw, COLUMNS)
    assert isinstance(refused.value, Invalid)
    assert "UTF-8" in refused.value.message_en and "CP932" in refused.value.message_en
    assert "文字コード" in refused.value.message_ja


def test_the_caller_chooses_the_error_raised():
    class Mine(Invalid):
        pass

    with pytest.raises(Mine):
        csvfile.read(b"\x00\x01", COLUMNS, rejected=Mine)
    with pytest.raises(Mine):
        csvfile.read(b"", COLUMNS, rejected=Mine)


def test_line_numbers_count_file_lines_from_the_header_as_line_1():
    text = (
        "code,name_ja,population\n"  # line 1
        "431001,熊本市,738744\n"  # line 2
        "\n"  # line 3: blank, skipped
        ",,\n"  # line 4: only separators, skipped
        '432024,"八代市\n(やつしろし)",123146\n'  # lines 5-6: a quoted value with a line break
        "432032,人吉市,33880\n"  # line 7
    )
    rows = list(csvfile.rows(text, COLUMNS))
    assert [(row.line, row.values["code"]) for row in rows] == [(2, "431001"), (5, "432024"), (7, "432032")]
    assert rows[1].values["name_ja"] == "八代市\n(やつしろし)"
    assert rows[1].where == "line 5"


@pytest.mark.parametrize("header", [
    "code,name_ja", "Code,NAME_JA", " code , name_ja ", "ｃｏｄｅ,ｎａｍｅ＿ｊａ", "団体　コード,団体 名", "\ufeff団体コード,団体名",
])
def test_header_names_match_across_case_width_and_spaces(header):
    [row] = csvfile.rows(f"{header}\n431001,熊本市\n", COLUMNS)
    assert row.values == {"code": "431001", "name_ja": "熊本市"}


def test_every_header_problem_is_named_on_line_1_at_once():
    with pytest.raises(csvfile.FileRejected) as refused:
        csvfile.rows("団体コード,favourite colour,code\n431001,red,431001\n", COLUMNS)
    problems = refused.value.problems
    assert {p["field"] for p in problems} == {"line 1"}
    english = " ".join(p["message_en"] for p in problems)
    japanese = " ".join(p["message_ja"] for p in problems)
    assert "favourite colour" in english  # unknown
    assert "'団体コード' and 'code' both mean code" in english  # the same field twice
    assert "name_ja" in english and "必須の列 団体名（name_ja）がありません" in japanese  # required, missing
    assert "人口" not in japanese  # not required: its absence is no problem


def test_an_empty_file_says_so():
    for raw in (b"", b"\xef\xbb\xbf", b"\r\n", b",,\r\n"):
        with pytest.raises(csvfile.FileRejected) as refused:
            csvfile.read(raw, COLUMNS)
        assert refused.value.message_ja == "ファイルが空です。"


def test_a_log_export_may_carry_columns_that_are_not_read():
    columns = csvfile.Columns({"code": "code", "name_ja": "name_ja"}, required=("code",), ignore_unknown=True)
    [row] = csvfile.rows("code,user_agent,name_ja\n431001,curl/8,熊本市\n", columns)
    assert row.values == {"code": "431001", "name_ja": "熊本市"}


def test_a_row_longer_than_the_header_is_a_problem_of_its_line_but_empty_trailing_cells_are_not():
    rows = list(csvfile.rows("code,name_ja\n431001,熊本市,,\n432024,八代市,surplus\n", COLUMNS))
    assert rows[0].problems == ()
    assert [p["field"] for p in rows[1].problems] == ["line 3"]
    assert "見出しより多くの値" in rows[1].problems[0]["message_ja"]


def test_an_alias_naming_two_fields_is_a_programming_error():
    with pytest.raises(ValueError):
        csvfile.Columns({"コード": "code", "ｺｰﾄﾞ": "kind"})


def test_a_file_is_streamed_with_the_encoding_sniffed_from_its_first_non_ascii_bytes(tmp_path):
    from core.csvfile import Columns, FileRejected, sniff_encoding, stream_rows

    columns = Columns({"code": "code", "団体コード": "code", "name": "name", "団体名": "name"}, required=("code",))
    ascii_rows = "".join(f"{n:06d},town{n}\r\n" for n in range(2_000))  # well past the first chunk
    path = tmp_path / "late.csv"
    path.write_bytes(("code,name\r\n" + ascii_rows + "431001,熊本市\r\n").encode("cp932"))
    assert sniff_encoding(path, chunk_bytes=64) == "cp932"
    rows = list(stream_rows(path, columns))
    assert len(rows) == 2_001 and (rows[-1].line, rows[-1].values["name"]) == (2_002, "熊本市")

    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeff団体コード,団体名\r\n431001,熊本市\r\n".encode("utf-8"))
    [row] = stream_rows(bom, columns)
    assert row.values == {"code": "431001", "name": "熊本市"}

    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("code,name\r\n431001,熊本市\r\n".encode("utf-16"))
    with pytest.raises(FileRejected) as caught:
        list(stream_rows(utf16, columns))
    assert "CP932" in caught.value.message_en and "文字コード" in caught.value.message_ja


# --- Excel workbooks: the same rules, read from the first sheet ----------------------------------

def _workbook(rows, *, second_sheet=None) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    if second_sheet is not None:
        book.create_sheet("メモ").append(second_sheet)
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


def test_a_workbook_reads_as_the_same_file_saved_as_csv_whatever_form_the_source_takes(tmp_path):
    import io

    raw = _workbook([["団体コード", "団体名", "人口"], [431001, "熊本市", 738744.0], [432024, " 八代市 ", 123146]],
                    second_sheet=["団体コード", "団体名"])
    path = tmp_path / "名簿.xlsx"
    path.write_bytes(raw)
    for source in (raw, path, io.BytesIO(raw)):
        assert values(csvfile.source_rows(source, COLUMNS)) == EXPECTED
    assert values(csvfile.read(raw, COLUMNS)) == EXPECTED


def test_a_workbook_row_is_named_by_its_row_number_and_its_header_checked_like_a_csv():
    raw = _workbook([["団体コード", "人口", "備考"], [], [431001, 1, None, "余り"]])
    with pytest.raises(csvfile.FileRejected) as caught:
        list(csvfile.read(raw, COLUMNS))
    fields = {p["message_ja"] for p in caught.value.problems}
    assert any("備考" in text for text in fields) and any("団体名" in text for text in fields)

    # Excel pads every row to the sheet's width, as it does when it saves the sheet as CSV: a value
    # under a blank header cell is read (and left) as that CSV's would be
    raw = _workbook([["団体コード", "団体名"], [], [431001, "熊本市", None, "余り"]])
    saved_as_csv = "団体コード,団体名,,\r\n,,,\r\n431001,熊本市,,余り\r\n".encode("cp932")
    assert values(csvfile.read(raw, COLUMNS)) == values(csvfile.read(saved_as_csv, COLUMNS)) \
        == [(3, {"code": "431001", "name_ja": "熊本市"})]


@pytest.mark.parametrize("value, shown", [
    (None, ""), (431001, "431001"), (738744.0, "738744"), (0.25, "0.25"), (True, "TRUE"),
    ("  熊本市 ", "  熊本市 "),
])
def test_a_cell_reads_as_excel_shows_it(value, shown):
    assert csvfile.cell_text(value) == shown


def test_a_cell_date_reads_as_a_date_and_keeps_its_time_only_when_it_has_one():
    import datetime as dt

    assert csvfile.cell_text(dt.datetime(2025, 4, 1)) == "2025-04-01"
    assert csvfile.cell_text(dt.datetime(2025, 4, 1, 9, 30)) == "2025-04-01 09:30:00"


def test_a_file_that_only_looks_like_a_workbook_is_refused_with_what_to_do():
    for raw in (b"PK\x03\x04not a zip", _workbook([["団体コード"]])[:200]):
        with pytest.raises(csvfile.FileRejected) as caught:
            list(csvfile.read(raw, COLUMNS))
        assert ".xlsx" in caught.value.message_en and "Excel ブック" in caught.value.message_ja
