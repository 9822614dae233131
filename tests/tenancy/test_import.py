"""Tenant import: all or nothing, every bad line named, UTF-8 and CP932, Japanese or English headers."""

import csv
import io
import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.errors import ImportRejected
from tenancy.registry.importing import export_csv, import_csv, reference_municipalities
from tenancy.registry.models import Tenant
from tenancy.registry.operations import list_tenants

GOOD = ["431001", "432024", "432032", "432041", "432059", "432067", "432083", "432105", "432113", "432121"]


def rows_for(codes_):
    ref = reference_municipalities()
    return [(c, ref[c]["name_ja"], ref[c]["name_en"], ref[c]["kind"], ref[c]["population"]) for c in codes_]


def english_csv(rows) -> str:
    lines = ["code,name_ja,name_en,kind,population"]
    lines += [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def japanese_csv(rows) -> str:
    kinds = {"designated_city": "政令指定都市", "city": "市", "town": "町", "village": "村"}
    lines = ["団体コード,団体名,種別,人口"]
    lines += [f"{c},{ja},{kinds[kind]},\"{int(pop):,}\"" for c, ja, _en, kind, pop in rows]
    return "\r\n".join(lines) + "\r\n"


def count(db):
    return db.scalar(sa.select(sa.func.count()).select_from(Tenant))


def test_one_wrong_check_digit_imports_nothing_and_names_its_line(db, operator):
    rows = rows_for(GOOD)
    rows.insert(6, ("432130", "宇城市", "Uki", "city", "57075"))
    rows[6] = ("432131",) + rows[6][1:]  # 宇城市 with a wrong check digit (43213 -> 0)
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, english_csv(rows).encode("utf-8"))
    problems = caught.value.problems
    assert len(problems) == 1
    # header is line 1, so the seventh data row is line 8
    assert problems[0]["field"].startswith("line 8")
    assert "check digit" in problems[0]["message_en"].lower()
    assert "検査数字" in problems[0]["message_ja"]
    db.rollback()
    assert count(db) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 0


def test_the_same_rows_in_cp932_with_japanese_headers_corrected_import(db, operator):
    text = japanese_csv(rows_for(GOOD + ["432130"]))
    result = import_csv(db, operator, text.encode("cp932"))
    db.commit()
    assert sorted(result.created) == sorted(GOOD + ["432130"])
    tenants, total = list_tenants(db, operator)
    assert total == 11
    kumamoto = next(t for t in tenants if t.code == "431001")
    assert kumamoto.name_ja == "熊本市" and kumamoto.population == 738744
    assert kumamoto.kind.value == "designated_city"
    assert kumamoto.name_en == "Kumamoto"  # filled from the reference data when the file has no English name


def test_utf8_with_bom_is_accepted(db, operator):
    result = import_csv(db, operator, ("\ufeff" + english_csv(rows_for(GOOD[:2]))).encode("utf-8"))
    assert len(result.created) == 2


def test_every_bad_row_is_reported(db, operator):
    text = "\n".join([
        "code,name_ja,name_en,kind,population",
        "431001,熊本市,Kumamoto,designated_city,738744",
        "431001,熊本市,Kumamoto,designated_city,738744",   # duplicate within the file
        "432024,八代市,Yatsushiro,castle,123146",           # unknown kind
        "432032,人吉市,Hitoyoshi,city,-5",                  # negative population
        "432041,,Arao,city,50878",                          # missing name
        "432059,水俣市,Minamata,city,12.5",                 # not an integer
    ]) + "\n"
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, text.encode())
    lines = [p["field"].split(":")[0] for p in caught.value.problems]
    assert lines == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    db.rollback()
    assert count(db) == 0


def test_a_code_already_registered_is_refused(db, operator, tenant_factory):
    tenant_factory("431001")
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, english_csv(rows_for(["432024", "431001"])).encode())
    assert caught.value.problems[0]["field"].startswith("line 3")
    db.rollback()
    assert count(db) == 1


def test_a_file_naming_two_prefectures_imports_nothing_even_into_an_empty_registry(db, operator):
    """The registry keeps one home prefecture: a second prefecture row is named by its line, and so
    is a prefecture row once the registry has its prefecture."""
    text = ("団体コード,団体名,種別,人口\r\n"
            "430005,熊本県,都道府県,\"1,718,327\"\r\n"
            "431001,熊本市,指定都市,\"738,865\"\r\n"
            "420000,長崎県,都道府県,\"1,283,128\"\r\n")
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, text.encode("cp932"))
    assert [(p["field"], p["message_ja"]) for p in caught.value.problems] == [
        ("line 4: kind", "県は 2 行目で登録されます。県は 1 団体だけです。")]
    db.rollback()
    assert count(db) == 0

    import_csv(db, operator, text.rsplit("420000", 1)[0].encode("cp932"))  # the file without its second prefecture
    db.commit()
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, "団体コード,団体名,種別,人口\r\n420000,長崎県,都道府県,100\r\n".encode("cp932"))
    assert caught.value.problems[0]["field"] == "line 2: kind"
    assert "熊本県（430005）として登録済み" in caught.value.problems[0]["message_ja"]
    assert count(db) == 2


def test_unknown_columns_and_missing_required_columns_are_named(db, operator):
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, "code,団体名,favourite colour\n431001,熊本市,red\n".encode())
    messages = " ".join(p["message_en"] for p in caught.value.problems)
    assert "favourite colour" in messages and "kind" in messages and "population" in messages


def test_a_file_in_neither_encoding_is_refused_clearly(db, operator):
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, "code,name_ja\n431001,熊本市\n".encode("utf-16"))
    assert "CP932" in caught.value.message_en


def test_export_opens_in_excel_and_imports_back(db, operator, tenant_factory):
    tenant_factory("431001", contacts=[{"name": "熊本 太郎", "department": "デジタル戦略課", "email": "taro@example.jp", "phone": "096-000-0000"}])
    tenant_factory("432024")
    data = export_csv(list_tenants(db, operator)[0])
    assert data.startswith("\ufeff".encode("utf-8"))
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("団体コード,団体名")
    exported = data
    reset = [t for t in list_tenants(db, operator)[0]]
    assert len(reset) == 2
    # importing the export into an empty registry reproduces it (renkei never deletes a tenant, so
    # the test empties the registry as the database owner would)
    from tenancy.registry.models import Tenant, TenantContact
    from tests.conftest import owner_bind

    ids = [tenant.id for tenant in reset]
    db.commit()
    with owner_bind(db).begin() as connection:
        connection.execute(sa.delete(TenantContact).where(TenantContact.tenant_id.in_(ids)))
        connection.execute(sa.delete(Tenant).where(Tenant.id.in_(ids)))
    db.expire_all()
    result = import_csv(db, operator, exported)
    assert sorted(result.created) == ["431001", "432024"]
    kumamoto = next(t for t in list_tenants(db, operator)[0] if t.code == "431001")
    assert kumamoto.contacts[0].email == "taro@example.jp"
    assert kumamoto.status.value == "active"


def _with_check_digit(five: str) -> str:
    """JIS X 0402: weights 6..2, 11 minus the remainder mod 11, last digit of that."""
    total = sum(int(d) * w for d, w in zip(five, (6, 5, 4, 3, 2)))
    return five + str((11 - total % 11) % 10)


def test_a_national_office_file_with_only_code_name_kind_population_imports_in_cp932(db, operator):
    # as a Japanese office keeps it: no English name, 種別 in Japanese, 人口 with commas
    text = ("団体コード,団体名,種別,人口\r\n"
            "131016,千代田区,特別区,\"66,680\"\r\n"
            "011002,札幌市,指定都市,\"1,973,395\"\r\n"
            "130001,東京都,都道府県,\"14,047,594\"\r\n"
            "013030,当別町,町,\"15,641\"\r\n"
            "133621,利島村,村,303\r\n")
    result = import_csv(db, operator, text.encode("cp932"))
    db.commit()
    assert sorted(result.created) == ["011002", "013030", "130001", "131016", "133621"]
    chiyoda = db.scalar(sa.select(Tenant).where(Tenant.code == "131016"))
    assert (chiyoda.name_ja, chiyoda.kind.value, chiyoda.population) == ("千代田区", "ward", 66_680)
    assert chiyoda.name_en_shown == "千代田区"  # English pages show the Japanese name when there is no English one
    sapporo = db.scalar(sa.select(Tenant).where(Tenant.code == "011002"))
    assert (sapporo.kind.value, sapporo.population) == ("designated_city", 1_973_395)


def test_a_national_registry_imports_at_once_with_one_audit_record(db, operator):
    codes = [_with_check_digit(f"{pref:02d}{n:03d}") for pref in range(1, 48) for n in range(201, 240)][:1_741]
    text = "団体コード,団体名,種別,人口\r\n" + "".join(f"{c},団体{i},市,\"{10_000 + i:,}\"\r\n" for i, c in enumerate(codes))
    before = db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    result = import_csv(db, operator, text.encode("cp932"))
    db.commit()
    assert len(result.created) == 1_741 and count(db) == 1_741
    records = list(db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))[before:]
    assert len(records) == 1
    assert records[0].action == "tenant.import"
    after = json.loads(records[0].after)
    assert after["count"] == 1_741 and sorted(after["codes"]) == sorted(codes)
    _, active_or_not = list_tenants(db, operator, per_page=10)
    assert active_or_not == 1_741


def test_a_national_file_with_one_bad_row_imports_nothing(db, operator):
    codes = [_with_check_digit(f"{pref:02d}{n:03d}") for pref in range(1, 48) for n in range(201, 211)]
    rows = [f"{c},団体{i},町,{500 + i}\r\n" for i, c in enumerate(codes)]
    rows[300] = rows[300].replace("町", "郡")  # not a kind of tenant
    with pytest.raises(ImportRejected) as caught:
        import_csv(db, operator, ("団体コード,団体名,種別,人口\r\n" + "".join(rows)).encode("cp932"))
    assert [p["field"].split(":")[0] for p in caught.value.problems] == ["line 302"]
    db.rollback()
    assert count(db) == 0


def test_the_registry_for_people_is_in_words_and_for_machines_in_codes(db, operator, tenant_factory):
    tenant_factory("431001", wave_fiscal_year=2024)
    rows = list(csv.DictReader(io.StringIO(export_csv(list_tenants(db, operator)[0]).decode("utf-8-sig"))))
    assert rows[0]["種別"] == "政令指定都市" and rows[0]["状態"] == "利用中" and rows[0]["参加年度"] == "令和6年度（2024年度）"
    machine = list(csv.DictReader(io.StringIO(export_csv(list_tenants(db, operator)[0], japanese_headers=False)
                                              .decode("utf-8-sig"))))
    assert machine[0]["kind"] == "designated_city" and machine[0]["status"] == "active" and machine[0]["wave_fiscal_year"] == "2024"
