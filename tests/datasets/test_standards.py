"""The standard kinds as the Digital Agency defines them now (自治体標準オープンデータセット), the older
推奨データセット names as aliases, every fault a data user trips over named by row and column in words
(in CP932, UTF-8 with BOM and xlsx alike), and the Table Schemas published for frictionless."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings, strategies as st

from core import codes
from tests.background_server import serve_in_thread, stop
from tests.raw_text import raw_shapes

KUMAMOTO_CORPORATE = codes.corporate_number_of_local_government("431001")  # 熊本市's 法人番号

# An AED list written to today's item names (全国地方公共団体コード, ID, 地方公共団体名, 名称_英字, the address in
# parts, 郵便番号, 画像 ...).
AED_TODAY = [
    ["全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "名称_英字", "所在地_全国地方公共団体コード",
     "所在地_連結表記", "所在地_都道府県", "所在地_市区町村", "建物名等(方書)", "緯度", "経度",
     "設置位置", "電話番号", "郵便番号", "法人番号", "小児対応設備の有無", "画像", "画像_ライセンス", "URL"],
    ["431001", "0001", "熊本県熊本市", "熊本市役所", "クマモトシヤクショ", "Kumamoto City Hall", "431001",
     "熊本県熊本市中央区手取本町1-1", "熊本県", "熊本市中央区", "",
     "32.803", "130.707", "1階正面玄関", "096-328-2111", "860-8601", KUMAMOTO_CORPORATE, "有",
     "https://data.example.jp/aed/0001.jpg", "CC BY 4.0", "https://www.city.kumamoto.jp/"],
    ["431001", "0002", "熊本県熊本市", "熊本市消防局", "クマモトシショウボウキョク", "", "431001",
     "熊本県熊本市中央区大江3-1-3", "熊本県", "熊本市中央区", "2階",
     "32.799", "130.720", "1階受付", "", "", "", "無", "", "", ""],
]
# The same rows under the older 推奨データセット names (都道府県名 + 市区町村名 for 地方公共団体名, 住所 and 方書 for the
# address; no 名称_英字, address parts, 郵便番号 or 画像).
OLDER_NAMES = {"全国地方公共団体コード": "都道府県コード又は市区町村コード", "ID": "NO", "所在地_連結表記": "住所",
               "建物名等(方書)": "方書"}
DROPPED = {"名称_英字", "所在地_全国地方公共団体コード", "所在地_都道府県", "所在地_市区町村", "郵便番号", "画像",
           "画像_ライセンス"}


def aed_older() -> list[list[str]]:
    header = AED_TODAY[0]
    rows = []
    for values in AED_TODAY:
        row = []
        for name, value in zip(header, values):
            if name in DROPPED:
                continue
            if name == "地方公共団体名":
                row += ["都道府県名", "市区町村名"] if values is header else ["熊本県", "熊本市"]
                continue
            row.append(OLDER_NAMES.get(name, name) if values is header else value)
        rows.append(row)
    return rows


def as_csv(rows: list[list[str]], encoding: str) -> bytes:
    text = "\r\n".join(",".join(values) for values in rows) + "\r\n"
    return text.encode(encoding)


def as_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for values in rows:
        book.active.append([value if value != "" else None for value in values])
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


FORMS = {"cp932": lambda rows: as_csv(rows, "cp932"), "utf-8-bom": lambda rows: as_csv(rows, "utf-8-sig"),
         "xlsx": as_xlsx}


def check(kind: str, raw: bytes):
    from catalogue import standards

    return standards.check_file(standards.kind_of(kind), raw)


@pytest.mark.parametrize("form", FORMS)
def test_an_aed_list_to_todays_definition_and_the_same_rows_under_the_older_names_both_conform(form):
    today = check("aed", FORMS[form](AED_TODAY))
    assert today.conformant, today.problems
    assert today.version.startswith("自治体標準オープンデータセット") and today.schema_path == "/standards/aed/schema.json"
    assert today.row_count == 2 and today.encoding == {"cp932": "cp932", "utf-8-bom": "utf-8", "xlsx": "xlsx"}[form]
    older = check("aed", FORMS[form](aed_older()))
    assert older.conformant, older.problems
    assert older.version == "推奨データセット" and older.schema_path == "/standards/aed/older/schema.json"


def test_the_verdict_carries_the_files_hash_and_size():
    import hashlib

    raw = FORMS["cp932"](AED_TODAY)
    result = check("aed", raw)
    assert result.sha256 == hashlib.sha256(raw).hexdigest() and result.size == len(raw)


def _with(rows: list[list[str]], line: int, **values: str) -> list[list[str]]:
    """``rows`` with the values of data line ``line`` (2 = the first data row) changed by column name."""
    changed = [list(r) for r in rows]
    for name, value in values.items():
        changed[line - 1][rows[0].index(name)] = value
    return changed


FAULTS = [
    # (what, the row's changes, the column named, words the Japanese message must hold)
    ("local government code check digit", {"全国地方公共団体コード": "431000"}, "全国地方公共団体コード", ["検査数字", "431001"]),
    ("corporate number check digit", {"法人番号": "1000020431001"}, "法人番号", ["検査用数字", KUMAMOTO_CORPORATE]),
    ("full-width code", {"全国地方公共団体コード": "４３１００１"}, "全国地方公共団体コード", ["「４３１００１」", "431001 と書いて"]),
    ("half-width katakana", {"名称_カナ": "ｸﾏﾓﾄｼﾔｸｼｮ"}, "名称_カナ", ["半角カタカナ", "「クマモトシヤクショ」"]),
    ("hiragana", {"名称_カナ": "くまもとしやくしょ"}, "名称_カナ", ["ひらがな", "「クマモトシヤクショ」"]),
    ("outside Japan", {"緯度": "52.5"}, "緯度", ["「52.5」", "日本の範囲外"]),
    ("latitude and longitude swapped", {"緯度": "130.707", "経度": "32.803"}, "緯度・経度",
     ["入れ替わっています", "緯度 32.803、経度 130.707"]),
    ("not a number", {"緯度": "北緯32度"}, "緯度", ["「北緯32度」", "数値ではありません"]),
    ("not in the code list", {"小児対応設備の有無": "あり"}, "小児対応設備の有無", ["「あり」", "有、無"]),
    ("duplicated ID", {"ID": "0001"}, "ID", ["「0001」", "2 行目と同じ ID"]),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("what, changes, column, words", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_named_by_row_and_column_in_words(form, what, changes, column, words):
    result = check("aed", FORMS[form](_with(AED_TODAY, 3, **changes)))
    assert not result.conformant
    assert [(p["row"], p["column"]) for p in result.problems] == [("3", column)], result.problems
    message = result.problems[0]["message_ja"]
    assert message.startswith(f"3 行目・列「{column}」: ")
    for word in words:
        assert word in message, message
    for problem in result.problems:  # no lost type name, Python list or internal name in either language
        assert raw_shapes(problem["message_ja"]) == {} and raw_shapes(problem["message_en"]) == {}


def test_the_older_names_carry_the_same_rules():
    """NO is unique where given, and 都道府県コード又は市区町村コード's check digit is 全国地方公共団体コード's."""
    rows = _with(_with(aed_older(), 3, NO="1"), 2, NO="1", 都道府県コード又は市区町村コード="431000")
    result = check("aed", as_csv(rows, "cp932"))
    assert result.version == "推奨データセット"
    assert [(p["row"], p["column"]) for p in result.problems] == [("2", "都道府県コード又は市区町村コード"), ("3", "NO")]
    assert "431001" in result.problems[0]["message_ja"] and "2 行目と同じ NO" in result.problems[1]["message_ja"]


def test_a_column_under_the_other_versions_name_or_in_another_width_is_named_with_its_fix():
    header = ["全国地方公共団体コード", "ID", "都道府県名", "市区町村名", "名称", "名称＿カナ", "住所", "設置位置"]
    rows = [header, ["431001", "1", "熊本県", "熊本市", "熊本市役所", "クマモトシヤクショ", "熊本市中央区1-1", "1階"]]
    result = check("aed", as_csv(rows, "cp932"))
    messages = {p["column"]: p["message_ja"] for p in result.problems if p["row"] == "1"}
    assert result.version == "推奨データセット"  # nearer: more of its names are in the header
    assert "「NO」" in messages["ID"] and "「都道府県コード又は市区町村コード」" in messages["全国地方公共団体コード"]
    assert "「名称_カナ」と書いてください" in messages["名称＿カナ"]
    today = header[:2] + ["地方公共団体名"] + header[2:6] + ["所在地_連結表記"] + header[7:]  # today's address name
    current = check("aed", as_csv([today, rows[1][:2] + ["熊本県熊本市"] + rows[1][2:]], "cp932"))
    messages = {p["column"]: p["message_ja"] for p in current.problems if p["row"] == "1"}
    assert current.version.startswith("自治体標準オープンデータセット")
    assert "「地方公共団体名」" in messages["都道府県名"] and "「地方公共団体名」" in messages["市区町村名"]


def test_a_web_address_and_a_time_are_named_as_such():
    result = check("aed", as_csv(_with(AED_TODAY, 2, URL="www.city.kumamoto", 電話番号="096-328-2111"), "cp932"))
    assert [p["message_ja"] for p in result.problems] == [
        "2 行目・列「URL」: 「www.city.kumamoto」は URL ではありません。https:// で始まるアドレスを書いてください。"]


@pytest.mark.parametrize("form", FORMS)
def test_a_header_only_file_and_a_file_of_blank_rows_do_not_conform(form):
    header_only = check("aed", FORMS[form](AED_TODAY[:1]))
    assert not header_only.conformant and header_only.row_count == 0
    assert any("データ行がありません" in p["message_ja"] for p in header_only.problems)
    blank = check("aed", FORMS[form]([AED_TODAY[0], [""] * len(AED_TODAY[0]), [""] * len(AED_TODAY[0])]))
    assert not blank.conformant and blank.row_count == 0


def test_dates_as_excel_writes_them_pass_and_an_era_date_is_refused_with_its_western_form():
    header = ["全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "所在地_連結表記", "認可等年月日"]
    rows = [header, ["431001", "1", "熊本県熊本市", "みどり保育園", "ミドリホイクエン", "熊本市中央区1-1", "2024/4/1"],
            ["431001", "2", "熊本県熊本市", "あおば保育園", "アオバホイクエン", "熊本市中央区1-2", "2024-04-01"]]
    for form in FORMS.values():
        assert check("childcare_facility", form(rows)).conformant
    era = check("childcare_facility", as_csv(_with(rows, 3, 認可等年月日="令和6年4月1日"), "cp932"))
    assert [(p["row"], p["column"]) for p in era.problems] == [("3", "認可等年月日")]
    assert "和暦" in era.problems[0]["message_ja"] and "2024-04-01" in era.problems[0]["message_ja"]


@pytest.mark.parametrize("form", ["cp932", "xlsx"])
def test_values_beyond_the_header_are_refused_in_a_csv_file_and_a_workbook_alike(form):
    rows = [list(r) for r in AED_TODAY]
    rows[1] = rows[1] + ["余分な値"]
    result = check("aed", FORMS[form](rows))
    assert not result.conformant and [p["row"] for p in result.problems] == ["2"]
    assert "見出しより多くの値" in result.problems[0]["message_ja"]


def test_the_import_reader_refuses_a_value_beyond_the_header_in_a_workbook_as_in_a_csv_file():
    from core import csvfile

    columns = csvfile.Columns({"名称": "name", "住所": "address"})
    rows = [["名称", "住所"], ["熊本市役所", "熊本市中央区", "余分"]]
    for raw in (as_csv(rows, "cp932"), as_xlsx(rows)):
        (row,) = csvfile.read(raw, columns)
        assert [p["message_ja"] for p in row.problems] == ["見出しより多くの値があります。"]


def test_every_kind_ships_both_versions_with_their_source_and_valid_table_schemas():
    from frictionless import Schema

    from catalogue import standards

    assert len(standards.kinds()) == 10
    for kind in standards.kinds().values():
        current, older = kind.versions
        assert current.source.startswith("https://www.digital.go.jp/") and current.date
        assert {"全国地方公共団体コード", "ID", "地方公共団体名"} <= set(current.field_names)
        # ID is unique: as the primary key where the definition requires it, else unique where given
        # (公衆トイレ一覧 of データ項目定義書A makes it ○, recommended)
        assert ("ID" in current.descriptor.get("primaryKey", []) and "ID" in current.required
                or current.field("ID")["constraints"] == {"unique": True})
        assert "NO" in older.field_names and "都道府県名" in older.field_names and "ID" not in older.field_names
        for version in (current, older):
            Schema.from_descriptor(version.descriptor)  # frictionless reads it (raises on a bad schema)
            assert "x-renkei" not in version.descriptor


# --- the published schemas, and frictionless's own verdict against them ----------------------------------

def test_each_kind_schema_is_published_without_sign_in(client):
    from catalogue import standards

    for code in standards.kinds():
        for version in (standards.CURRENT, standards.OLDER):
            answer = client.get(standards.schema_path(code, version))
            assert answer.status_code == 200 and answer.mimetype == "application/json"
            assert answer.get_json() == standards.schema_document(code, version)
            checklist = client.get(standards.checklist_path(code, version))
            assert checklist.status_code == 200 and checklist.get_json() == standards.checklist_document(code, version)
            assert {"type": "table-dimensions", "minRows": 1} in checklist.get_json()["checks"]
    assert client.get("/standards/no-such-kind/schema.json").status_code == 404
    assert client.get("/standards/no-such-kind/checklist.json").status_code == 404


def _frictionless_valid(client, path: str, raw: bytes, *, with_checklist: bool = True) -> bool:
    """frictionless's own verdict on ``raw`` against the schema served at ``path`` and, as the docs tell a
    data user to run it, the checklist served beside it."""
    from frictionless import Checklist, Resource, Schema

    schema = Schema.from_descriptor(client.get(path).get_json())
    checklist = Checklist.from_descriptor(client.get(path.replace("schema.json", "checklist.json")).get_json())
    resource = Resource(data=raw, format="csv", encoding="utf-8", schema=schema)
    return (resource.validate(checklist) if with_checklist else resource.validate()).valid


BLANK = [""] * len(AED_TODAY[0])
AGREE = [("today's names, clean", AED_TODAY), ("older names, clean", aed_older()),
         ("a header only", AED_TODAY[:1]), ("a blank row between data rows", AED_TODAY[:2] + [BLANK] + AED_TODAY[2:]),
         ("a blank row at the end", AED_TODAY + [BLANK]),
         ("older names, wrong code check digit", _with(aed_older(), 3, **{"都道府県コード又は市区町村コード": "431000"})),
         ("a column left out", [row[:-1] for row in AED_TODAY])] + [
    (what, _with(AED_TODAY, 3, **changes)) for what, changes, _, _ in FAULTS]


@pytest.mark.parametrize("what, rows", AGREE, ids=[a[0] for a in AGREE])
def test_frictionless_against_the_published_schema_gives_renkeis_verdict(client, what, rows):
    raw = as_csv(rows, "utf-8")
    result = check("aed", raw)
    assert _frictionless_valid(client, result.schema_path or "/standards/aed/schema.json", raw) == result.conformant


def test_the_checklist_carries_what_a_schema_cannot(client):
    """Check digits and "no data rows": a schema alone passes them; with the published checklist frictionless
    refuses them as renkei does."""
    for rows in (_with(AED_TODAY, 3, 全国地方公共団体コード="431000"), _with(AED_TODAY, 3, 法人番号="1000020431001"),
                 AED_TODAY[:1]):
        raw = as_csv(rows, "utf-8")
        assert not check("aed", raw).conformant
        assert _frictionless_valid(client, "/standards/aed/schema.json", raw, with_checklist=False)
        assert not _frictionless_valid(client, "/standards/aed/schema.json", raw)


def test_a_blank_row_is_named_by_its_line(client):
    result = check("aed", as_csv(AED_TODAY[:2] + [BLANK] + AED_TODAY[2:], "cp932"))
    assert not result.conformant and [p["row"] for p in result.problems] == ["3"]
    assert "空行です" in result.problems[0]["message_ja"]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789", min_size=6, max_size=6), st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_the_published_check_digit_formulas_say_what_core_codes_says(code, corporate):
    """The formulas a validator outside renkei evaluates (simpleeval, as frictionless's row-constraint does)
    accept exactly the codes and corporate numbers :mod:`core.codes` accepts."""
    import simpleeval

    row = {"全国地方公共団体コード": code, "法人番号": corporate}
    evaluate = simpleeval.EvalWithCompoundTypes(names=row).eval
    assert evaluate(codes.code_check_formula("全国地方公共団体コード")) == codes.is_valid(code)
    assert evaluate(codes.corporate_check_formula("法人番号")) == codes.is_corporate_number(corporate)
    assert simpleeval.EvalWithCompoundTypes(names={"法人番号": None}).eval(codes.corporate_check_formula("法人番号"))


def test_frictionless_reads_the_schema_from_its_published_address(app, tmp_path):
    """As a data user runs it: ``frictionless validate --schema <url> --checklist <its text> file.csv``, the
    schema and the checklist fetched over HTTP from renkei, the verdict frictionless's exit status."""
    import subprocess
    import sys
    import urllib.request

    from werkzeug.serving import make_server

    from catalogue import standards

    server = make_server("127.0.0.1", 0, app)
    thread = serve_in_thread(server)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(base + standards.checklist_path("aed"), timeout=60) as answer:
            checklist = answer.read().decode("utf-8")
        for number, rows in enumerate((AED_TODAY, _with(AED_TODAY, 3, 緯度="130.707", 経度="32.803"),
                                       _with(AED_TODAY, 3, 名称_カナ="ｸﾏﾓﾄ"), _with(AED_TODAY, 3, 全国地方公共団体コード="431000"),
                                       AED_TODAY[:1])):
            raw = as_csv(rows, "utf-8")
            path = tmp_path / f"aed-{number}.csv"
            path.write_bytes(raw)
            run = subprocess.run([sys.executable, "-m", "frictionless", "validate", "--schema",
                                  base + standards.schema_path("aed"), "--checklist", checklist, path.name],
                                 capture_output=True, text=True, timeout=300, cwd=tmp_path)  # a path in its folder, as typed
            assert (run.returncode == 0) == check("aed", raw).conformant, (number, run.stdout[-2000:], run.stderr[-2000:])
    finally:
        stop(server, thread)


def test_a_file_that_cannot_be_read_is_refused_in_words_by_row():
    unreadable = check("aed", "名称,名称_カナ\n".encode("utf-16"))
    assert not unreadable.conformant and "UTF-8" in unreadable.problems[0]["message_ja"]
    broken = check("aed", b"PK\x03\x04 not really a workbook")
    assert not broken.conformant and "Excel" in broken.problems[0]["message_ja"]
    too_long = check("aed", ("名称\n" + "あ" * (200 * 1024) + "\n").encode("utf-8"))
    assert not too_long.conformant and too_long.problems[0]["row"] == "2"


# --- 公衆トイレ一覧 as データ項目定義書A (2026-08-01) gives it: the address in parts, 名称_英語, ◎ items only required

TOILET_TODAY = [
    ["全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "名称_英語", "所在地_全国地方公共団体コード", "町字ID",
     "所在地_連結表記", "所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下", "建物名等(方書)", "設置位置",
     "緯度", "経度", "高度の種別", "高度の値", "バリアフリートイレ数", "車椅子使用者用トイレ有無", "乳幼児用設備設置トイレ有無",
     "オストメイト設置トイレ有無", "利用開始時間", "利用終了時間"],
    ["431001", "T-1", "熊本県熊本市", "花畑広場トイレ", "ハナバタヒロバトイレ", "Hanabata Square Toilet", "431001", "",
     "熊本県熊本市中央区花畑町1-1", "熊本県", "熊本市中央区", "花畑町", "1-1", "", "広場東側", "32.8010", "130.7070",
     "階数", "1", "1", "有", "有", "有", "06:00", "22:00"],
    ["431001", "T-2", "熊本県熊本市", "江津湖公園トイレ", "エヅココウエントイレ", "", "431001", "",
     "熊本県熊本市東区画図町1-1", "熊本県", "熊本市東区", "画図町", "1-1", "", "駐車場横", "32.7780", "130.7450",
     "", "", "1", "有", "無", "無", "", ""],
]


def test_a_public_toilet_list_to_todays_definition_conforms_to_it():
    result = check("public_toilet", as_csv(TOILET_TODAY, "utf-8"))
    assert result.conformant, result.problems
    assert result.version.startswith("自治体標準オープンデータセット") and "2026-08-01" in result.version


def test_only_the_definitions_required_items_are_required_today():
    """◎ (必須) items only: 名称, 所在地_連結表記, 設置位置; ○ (推奨) items may be left out."""
    keep = ["名称", "所在地_連結表記", "設置位置"]
    slim = [[row[TOILET_TODAY[0].index(name)] for name in keep] for row in TOILET_TODAY]
    assert check("public_toilet", as_csv(slim, "utf-8")).conformant
    without = [[row[TOILET_TODAY[0].index(name)] for name in keep[::2]] for row in TOILET_TODAY]
    result = check("public_toilet", as_csv(without, "utf-8"))
    assert not result.conformant
    assert ("1", "所在地_連結表記") in [(p["row"], p["column"]) for p in result.problems]


def test_the_place_code_carries_its_check_digit_too():
    result = check("public_toilet", as_csv(_with(TOILET_TODAY, 3, 所在地_全国地方公共団体コード="431000"), "cp932"))
    assert not result.conformant
    assert [(p["row"], p["column"]) for p in result.problems] == [("3", "所在地_全国地方公共団体コード")]
    assert "431001" in result.problems[0]["message_ja"]


def test_the_older_public_toilet_list_still_conforms_in_its_own_version():
    from pathlib import Path

    sample = Path(__file__).parents[2] / "tenancy" / "data" / "standard_samples" / "public_toilet.csv"
    older = [["都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称", "名称_カナ", "住所", "設置位置",
              "多機能トイレ数", "車椅子使用者用トイレ有無", "乳幼児用設備設置トイレ有無", "オストメイト設置トイレ有無"],
             ["431001", "1", "熊本県", "熊本市", "花畑広場トイレ", "ハナバタヒロバトイレ", "熊本県熊本市中央区花畑町1-1", "広場東側",
              "1", "有", "有", "有"]]
    result = check("public_toilet", as_csv(older, "cp932"))
    assert result.conformant and result.version == "推奨データセット", result.problems
    # the older definition required 多機能トイレ数 and the three 有無 items: left out, the file meets neither version
    assert not check("public_toilet", as_csv([row[:8] for row in older], "cp932")).conformant
    assert check("public_toilet", sample.read_bytes()).conformant


def test_a_repeated_id_is_named_where_id_is_only_recommended():
    result = check("public_toilet", as_csv(_with(TOILET_TODAY, 3, ID="T-1"), "utf-8"))
    assert [(p["row"], p["column"]) for p in result.problems] == [("3", "ID")]
    assert "2 行目と同じ ID" in result.problems[0]["message_ja"]
    assert check("public_toilet", as_csv(_with(TOILET_TODAY, 3, ID=""), "utf-8")).conformant  # ○: may be left empty


# --- every kind: today's items (the address in parts of データ項目定義書A), its required items, its older form -----

ADDRESS_TODAY = ["所在地_全国地方公共団体コード", "町字ID", "所在地_連結表記", "所在地_都道府県", "所在地_市区町村", "所在地_町字",
                 "所在地_番地以下", "建物名等(方書)"]
# A value a provider would write under each item name (the same facts for every kind that has the item).
VALUES = {
    "全国地方公共団体コード": "431001", "地方公共団体名": "熊本県熊本市", "名称": "熊本市役所", "名称_カナ": "クマモトシヤクショ",
    "所在地_全国地方公共団体コード": "431001", "町字ID": "0001-001", "所在地_連結表記": "熊本県熊本市中央区手取本町1-1",
    "所在地_都道府県": "熊本県", "所在地_市区町村": "熊本市中央区", "所在地_町字": "手取本町", "所在地_番地以下": "1-1",
    "建物名等(方書)": "本庁舎", "郵便番号": "860-8601", "設置位置": "1階正面玄関", "電話番号": "096-328-2111",
    "説明": "熊本市の本庁舎です。", "医療機関の種類": "病院", "診療曜日": "月火水木金", "診療開始時間": "09:00",
    "診療終了時間": "17:00", "診療科目": "内科", "病床数": "120", "URL": "https://www.city.kumamoto.jp/",
    "文化財分類": "国指定", "指定避難所との重複": "1", "バリアフリートイレ数": "1", "車椅子使用者用トイレ有無": "有",
    "乳幼児用設備設置トイレ有無": "無", "オストメイト設置トイレ有無": "有",
}
KIND_VALUES = {"fire_water_supply": {"種別": "消火栓"}}
HAZARD = "災害種別_"  # 指定緊急避難場所一覧's hazard columns: 1 where the place is designated for it


def _value(kind: str, name: str) -> str:
    if name.startswith(HAZARD):
        return "1"
    return KIND_VALUES.get(kind, {}).get(name, VALUES.get(name, ""))


def _today(kind: str) -> list[list[str]]:
    """Two rows under today's names: the kind's required items (today's, and those the older definition required),
    the address in parts and its 郵便番号."""
    from catalogue import standards

    found = standards.kind_of(kind)
    older = found.descriptor["x-renkei"]["older"]
    header = [name for name in found.field_names
              if name in found.required or name in ADDRESS_TODAY or name in ("ID", "郵便番号")
              or older["renamed"].get(name, name) in older["required"]]
    return [header] + [[str(number) if name == "ID" else _value(kind, name) for name in header] for number in (1, 2)]


def _older(kind: str, rows: list[list[str]]) -> list[list[str]]:
    """The same rows under the older 推奨データセット names, as the kind declares them."""
    from catalogue import standards

    older = standards.kind_of(kind).descriptor["x-renkei"]["older"]
    out = []
    for values in rows:
        row = []
        for name, value in zip(rows[0], values):
            if name in older["new"]:
                continue
            if name in older["replaced"]:
                row += older["replaced"][name] if values is rows[0] else ["熊本県", "熊本市"]
                continue
            row.append(older["renamed"].get(name, name) if values is rows[0] else value)
        out.append(row)
    return out


ALL_KINDS = ["public_facility", "cultural_property", "evacuation_space", "childcare_facility", "public_wifi", "aed",
             "medical_institution", "tourist_facility", "public_toilet", "fire_water_supply"]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_list_to_todays_item_names_conforms_to_todays_definition(kind):
    result = check(kind, as_csv(_today(kind), "cp932"))
    assert result.conformant, result.problems
    assert result.version.startswith("自治体標準オープンデータセット") and result.schema_path == f"/standards/{kind}/schema.json"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_list_without_a_required_item_is_refused_naming_it(kind):
    from catalogue import standards

    rows = _today(kind)
    for name in standards.kind_of(kind).required:
        at = rows[0].index(name)
        result = check(kind, as_csv([row[:at] + row[at + 1:] for row in rows], "utf-8"))
        assert not result.conformant
        assert ("1", name) in [(p["row"], p["column"]) for p in result.problems], (name, result.problems)


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k != "public_toilet"])
def test_the_address_is_in_parts_today_and_住所_is_its_older_name(kind):
    """データ項目定義書A (2026-08-01) gives every one of these kinds the address in parts; 住所 and 方書 are the
    older names of 所在地_連結表記 and 建物名等(方書)."""
    rows = _today(kind)
    rows[0][rows[0].index("所在地_連結表記")] = "住所"
    result = check(kind, as_csv(rows, "utf-8"))
    assert not result.conformant
    (named,) = [p["message_ja"] for p in result.problems if p["column"] == "住所"]
    assert "「所在地_連結表記」" in named
    place_code = check(kind, as_csv(_with(_today(kind), 3, 所在地_全国地方公共団体コード="431000"), "utf-8"))
    assert [(p["row"], p["column"]) for p in place_code.problems] == [("3", "所在地_全国地方公共団体コード")]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_the_same_rows_under_the_older_names_conform_in_the_older_version(kind):
    result = check(kind, as_csv(_older(kind, _today(kind)), "cp932"))
    assert result.conformant, result.problems
    assert result.version == "推奨データセット" and result.schema_path == f"/standards/{kind}/older/schema.json"


@pytest.mark.parametrize("kind", sorted(p.stem for p in (
    __import__("pathlib").Path(__file__).parents[2] / "tenancy" / "data" / "standard_samples").glob("*.csv")))
def test_each_demo_sample_still_conforms_in_the_version_it_is_written_to(kind):
    from pathlib import Path

    sample = Path(__file__).parents[2] / "tenancy" / "data" / "standard_samples" / f"{kind}.csv"
    result = check(kind, sample.read_bytes())
    assert result.conformant and result.version == "推奨データセット", result.problems


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_frictionless_gives_renkeis_verdict_for_every_kinds_today_and_older_form(client, kind):
    today = _today(kind)
    for rows in (today, _older(kind, today), _with(today, 3, 所在地_全国地方公共団体コード="431000")):
        raw = as_csv(rows, "utf-8")
        result = check(kind, raw)
        assert _frictionless_valid(client, result.schema_path, raw) == result.conformant


def test_every_fault_of_a_large_file_is_counted_and_the_list_stays_bounded(client):
    """20,000 rows with a half-width 名称_カナ in every tenth: 2,000 faults in all (frictionless stops at its
    default 1,000 errors unless told otherwise), the first ones listed, and frictionless's own verdict the same."""
    header, row = AED_TODAY[0], AED_TODAY[1]
    kana = header.index("名称_カナ")
    rows = [header] + [[*row[:1], f"{i:05d}", *row[2:kana], "ｸﾏﾓﾄ" if i % 10 == 0 else row[kana], *row[kana + 1:]]
                       for i in range(20_000)]
    raw = as_csv(rows, "utf-8")
    from catalogue import standards

    result = standards.check_file(standards.kind_of("aed"), raw, limit=50)
    assert result.problem_count == 2_000 and result.row_count == 20_000
    assert len(result.problems) == 50 and [p["row"] for p in result.problems[:2]] == ["2", "12"]
    assert all(p["column"] == "名称_カナ" for p in result.problems)
    assert _frictionless_valid(client, result.schema_path, raw) == result.conformant


# --- places and addresses checked for what they are (issue 54, item 3) -------------------------------------

SEOUL = {"緯度": "37.5665", "経度": "126.9780"}  # inside Japan's extent (the schema's range), outside every prefecture


def _in(prefecture: str, rows: list[list[str]]):
    from core import areas
    from catalogue import standards

    return standards.check_file(standards.kind_of("aed"), as_csv(rows, "cp932"), area=areas.prefecture_box(prefecture))


def test_a_point_outside_the_platforms_prefecture_is_named_with_the_prefectures_area():
    assert check("aed", as_csv(_with(AED_TODAY, 3, **SEOUL), "cp932")).conformant  # Japan's extent alone lets it by
    result = _in("430005", _with(AED_TODAY, 3, **SEOUL))
    assert [(p["row"], p["column"]) for p in result.problems] == [("3", "緯度・経度")]
    message = result.problems[0]["message_ja"]
    assert "緯度 37.5665・経度 126.9780 は熊本県の区域" in message and "市区町村の区域は、境界データがないため確かめていません" in message
    assert "outside the prefecture's area, 熊本県" in result.problems[0]["message_en"]
    assert _in("430005", AED_TODAY).conformant  # 熊本市役所 is in 熊本県
    tochigi = _in("090000", AED_TODAY)  # on Tochigi's platform the same Kumamoto rows are outside its area
    assert [p["row"] for p in tochigi.problems] == ["2", "3"] and "栃木県の区域" in tochigi.problems[0]["message_ja"]


def test_a_point_outside_japan_or_swapped_is_named_once_as_before():
    for changes, words in (({"緯度": "52.5"}, "日本の範囲外"), ({"緯度": "130.707", "経度": "32.803"}, "入れ替わっています")):
        result = _in("430005", _with(AED_TODAY, 3, **changes))
        assert len(result.problems) == 1 and words in result.problems[0]["message_ja"], result.problems


def test_every_prefecture_has_a_box_and_each_box_holds_its_own_office():
    from core import areas

    assert sorted(areas.PREFECTURE_BOXES) == [f"{n:02d}" for n in range(1, 48)]
    offices = {"01": (43.0642, 141.3469), "09": (36.5658, 139.8836), "13": (35.6895, 139.6917), "43": (32.7898, 130.7417),
               "47": (26.2124, 127.6809)}
    for number, (lat, lon) in offices.items():
        assert areas.PREFECTURE_BOXES[number].contains(lat, lon)
    assert not any(box.contains(37.5665, 126.9780) for box in areas.PREFECTURE_BOXES.values())
    assert areas.prefecture_box("431001") == areas.PREFECTURE_BOXES["43"] and areas.prefecture_box("") is None


URLS = [  # (value, words the Japanese message holds)
    ("https://www.city.kumamoto.jp/a b", "31 文字目に空白"),
    ("https://www.city.kumamoto.jp/\u3000", "空白"),
    ("https://www.city.kumamoto.jp/a\x07", "制御文字"),
    ("https://www.city.kumamoto.jp/<aed>", "「<」は URL に使えない文字"),
    ("https://www.city.kumamoto.jp/100%", "% の後に16進数2桁"),
    ("https:///aed.csv", "ホスト名がありません"),
]


@pytest.mark.parametrize("value, words", URLS, ids=[u[0] for u in URLS])
def test_a_url_is_checked_as_rfc_3986_writes_it(value, words):
    result = check("aed", as_csv(_with(AED_TODAY, 2, URL=value), "utf-8"))
    assert [(p["row"], p["column"]) for p in result.problems] == [("2", "URL")], result.problems
    assert words in result.problems[0]["message_ja"] and "URL" in result.problems[0]["message_en"]


@pytest.mark.parametrize("value", ["https://www.city.kumamoto.jp/", "https://data.example.jp/aed/0001.jpg?size=large#top",
                                   "https://www.city.kumamoto.jp/%E6%96%BD%E8%A8%AD", "https://www.city.kumamoto.jp/施設",
                                   "http://192.0.2.1:8080/aed.csv"])
def test_urls_written_as_they_should_be_pass(value):
    result = check("aed", as_csv(_with(AED_TODAY, 2, URL=value), "utf-8"))
    assert result.conformant, result.problems
