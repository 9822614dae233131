"""The register's pages: Japanese by default, a provider's own datasets only, the check's problems by row and column."""

from __future__ import annotations

import io

import pytest

from tests.conftest import sign_in
from tests.datasets.conftest import draft
from tests.datasets.test_register import AED_BAD, AED_GOOD

FORM = {"provider_code": "431001", "title_ja": "AED設置箇所一覧", "title_en": "", "description": "市内のAED。",
        "category_code": "health_welfare", "keywords": "AED", "licence_code": "CC-BY-4.0", "access": "open",
        "grantees": "", "frequency": "monthly", "last_updated_on": "2026-11-01", "department": "消防局救急課",
        "contact_email": "aed@example.jp", "contact_phone": "", "personal_info": "none", "standard_kind": "aed",
        "responsibility_remark": "", "url": "https://data.example.jp/aed.csv", "format": "CSV", "media_type": "text/csv",
        "byte_size": ""}


def test_a_municipal_admin_registers_checks_and_submits_a_standard_dataset(client, db, providers):
    from catalogue.models import Dataset
    import sqlalchemy as sa

    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    page = client.get("/admin/datasets/new")
    assert page.status_code == 200 and "データセットの登録" in page.get_data(as_text=True)
    refused = client.post("/admin/datasets/new", data={**FORM, "title_ja": "", "contact_email": "x", "csrf_token": "t"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "タイトルを入力してください" in text and 'value="x"' in text
    saved = client.post("/admin/datasets/new", data={**FORM, "csrf_token": "t"})
    assert saved.status_code == 302
    dataset = db.scalar(sa.select(Dataset))
    detail = saved.headers["Location"]
    client.post(f"{detail}/check", data={"csrf_token": "t", "file": (io.BytesIO(AED_BAD.encode("cp932")), "aed.csv")},
                content_type="multipart/form-data")
    text = client.get(detail).get_data(as_text=True)
    assert "不適合（2 件）" in text and "設置位置" in text and "132.803" in text
    # the fixed file, checked as the replacement of the distribution's file (the bad one was checked first)
    alone = client.post(f"{detail}/check", data={"csrf_token": "t", "file": (io.BytesIO(AED_GOOD.encode("cp932")), "aed.csv")},
                        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "このファイルだけを確認しました" in alone and "差し替える" in alone
    assert client.post(f"{detail}/move/submit", data={"csrf_token": "t"}).status_code == 302
    db.refresh(dataset)
    assert dataset.status.value == "draft"  # its verdict is still the distribution's file's: 不適合
    client.post(f"{detail}/check", data={"csrf_token": "t", "replaces": "1",
                                         "file": (io.BytesIO(AED_GOOD.encode("cp932")), "aed.csv")},
                content_type="multipart/form-data")
    assert "準拠" in client.get(detail).get_data(as_text=True)
    assert client.post(f"{detail}/move/submit", data={"csrf_token": "t"}).status_code == 302
    db.refresh(dataset)
    assert dataset.status.value == "submitted"
    assert client.post(f"{detail}/move/publish", data={"csrf_token": "t", "confirmed": "1"}).status_code in (302, 403)
    db.refresh(dataset)
    assert dataset.status.value == "submitted"  # only the operator publishes


def test_another_municipality_cannot_open_the_dataset(client, db, sample_catalogue):
    aed = next(d for d in sample_catalogue if d.name == "kumamoto-city-aed")
    sign_in(client, ["municipal-admin"], ["432024"])
    assert client.get(f"/admin/datasets/{aed.uid}").status_code == 404
    listing = client.get("/admin/datasets/").get_data(as_text=True)
    assert "道路照明灯一覧" in listing and "AED設置箇所一覧" not in listing


def test_the_operator_sees_the_coverage_matrix_and_downloads_it(client, db, sample_catalogue):
    sign_in(client)
    page = client.get("/admin/dataset-coverage/?q=熊本市")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "熊本市（431001）" in text and "未提供" in text
    csv = client.get("/admin/dataset-coverage/export.csv").get_data().decode("utf-8-sig").splitlines()
    assert csv[0].startswith("団体コード,団体名,指定緊急避難場所一覧")
    kumamoto = next(line for line in csv if line.startswith("431001"))
    assert "未提供" in kumamoto  # 文化財一覧 is not provided
    xlsx = client.get("/admin/dataset-coverage/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_an_import_page_lists_problems_by_line_and_imports_nothing(client, db, providers):
    sign_in(client, csrf="t")
    text = "提供者コード,タイトル,分野,ライセンス,更新頻度\n431001,駐輪場一覧,交通,ひみつ,毎年\n".encode("cp932")
    response = client.post("/admin/datasets/import", data={"csrf_token": "t", "file": (io.BytesIO(text), "list.csv")},
                           content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "ひみつ は一覧にありません" in body


def test_the_api_registers_checks_and_moves_a_dataset(client, db, providers, open_api):
    import base64

    from core.calendar import to_jst
    from core.db import utcnow

    today = to_jst(utcnow()).date().isoformat()  # updated today: not overdue
    body = {"last_updated_on": today, "provider_code": "431001", "title_ja": "AED設置箇所一覧", "category_code": "health_welfare",
            "licence_code": "CC-BY-4.0", "frequency": "monthly", "description": "市内のAED。", "department": "救急課",
            "contact_email": "aed@example.jp", "standard_kind": "aed", "keywords": ["AED"],
            "distributions": [{"url": "https://data.example.jp/aed.csv", "format": "CSV"}]}
    created = client.post("/api/v1/datasets", json=body)
    assert created.status_code == 201, created.json
    uid = created.json["uid"]
    checked = client.post(f"/api/v1/datasets/{uid}/check",
                          json={"filename": "aed.csv", "content_base64": base64.b64encode(AED_BAD.encode("cp932")).decode()})
    assert checked.json["label_ja"] == "不適合（2 件）"
    assert {(p["row"], p["column"]) for p in checked.json["problems"]} == {("1", "設置位置"), ("2", "緯度")}
    alone = client.post(f"/api/v1/datasets/{uid}/check", json={"content_base64": base64.b64encode(AED_GOOD.encode()).decode()})
    assert alone.json["conformant"] and not alone.json["of_distribution"]  # another file than the distribution's
    replaced = client.post(f"/api/v1/datasets/{uid}/check",
                           json={"content_base64": base64.b64encode(AED_GOOD.encode()).decode(), "replaces": True})
    assert replaced.json["of_distribution"] and replaced.json["standard_version"] == "older"
    assert client.post(f"/api/v1/datasets/{uid}/submit", json={}).json["status"] == "submitted"
    assert client.post(f"/api/v1/datasets/{uid}/publish", json={}).json["status"] == "published"
    assert client.get("/api/v1/datasets?status=published").json["total"] == 1
    coverage = client.get("/api/v1/datasets/coverage?q=431001").json
    assert coverage["items"][0]["cells"]["aed"] == "conformant"


def test_a_municipalitys_home_lists_its_overdue_and_non_conformant_datasets(client, db, operator, providers):
    from catalogue import file_checks, operations

    overdue = operations.register(db, operator, draft(title_ja="駐輪場一覧", standard_kind=None, last_updated_on=None))
    failing = operations.register(db, operator, draft(frequency="irregular"))
    file_checks.check_file(db, operator, failing.uid, "aed.csv", AED_BAD.encode())
    other = operations.register(db, operator, draft(provider_code="432024", title_ja="道路照明灯一覧", standard_kind=None))
    for dataset in (overdue, failing, other):
        dataset.status = "published"
    db.commit()
    sign_in(client, ["municipal-admin"], ["431001"])
    text = client.get("/admin/").get_data(as_text=True)
    assert "更新・修正が必要なデータセット" in text
    assert "駐輪場一覧（更新期限切れ）" in text and "AED設置箇所一覧（不適合（2 件））" in text
    assert "道路照明灯一覧" not in text


def test_the_provider_writes_terms_and_a_consumer_reads_and_accepts_them_in_japanese(client, db, sample_catalogue):
    from catalogue import catalogue
    from tests.datasets.conftest import YATSUSHIRO_ADMIN

    sign_in(client, ["municipal-admin"], ["430005"], csrf="t")
    page = client.get("/admin/datasets/pref-traffic-accidents")
    text = page.get_data(as_text=True)
    assert "利用規約" in text and "現行 第1版" in text and "【サンプル】データ利用規約" in text
    refused = client.post("/admin/datasets/pref-traffic-accidents/terms",
                          data={"csrf_token": "t", "title": "改定した規約", "body_md": ""})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "本文を" in text and 'value="改定した規約"' in text  # kept as typed
    saved = client.post("/admin/datasets/pref-traffic-accidents/terms",
                        data={"csrf_token": "t", "title": "改定した規約", "body_md": "第2版の本文。"})
    assert saved.status_code == 302
    assert "現行 第2版" in client.get("/admin/datasets/pref-traffic-accidents").get_data(as_text=True)

    sign_in(client, ["municipal-admin"], ["432024"], csrf="t")
    listed = client.get("/admin/dataset-terms/").get_data(as_text=True)
    assert "交通事故統計情報" in listed and "未同意" in listed and "第2版" in listed
    detail = client.get("/admin/dataset-terms/pref-traffic-accidents").get_data(as_text=True)
    assert "第2版の本文。" in detail and "この利用規約（第2版）に同意する" in detail
    from catalogue.models import DatasetTerms
    import sqlalchemy as sa

    version = db.scalar(sa.select(DatasetTerms).where(DatasetTerms.number == 2))
    form = {"csrf_token": "t", "number": "2", "content_hash": version.content_hash, "consumer": "432024"}
    asked = client.post("/admin/dataset-terms/pref-traffic-accidents", data=form)
    assert asked.status_code == 200 and "取り消せません" in asked.get_data(as_text=True)  # asks first, writes nothing
    assert catalogue.search(db, YATSUSHIRO_ADMIN, fq="name:pref-traffic-accidents").entries[0].withheld
    done = client.post("/admin/dataset-terms/pref-traffic-accidents", data={**form, "confirmed": "1"})
    assert done.status_code == 302
    db.expire_all()
    assert not catalogue.search(db, YATSUSHIRO_ADMIN, fq="name:pref-traffic-accidents").entries[0].withheld
    after = client.get("/admin/dataset-terms/").get_data(as_text=True)
    assert "同意済" in after and "未同意" not in after

    sign_in(client, ["municipal-staff"], ["432024"], csrf="t")
    assert client.get("/admin/dataset-terms/").status_code == 403  # the municipal admin accepts for the municipality


def test_the_operator_keeps_the_categories_a_provider_chooses_from(client, db, providers):
    """The operator adds a category and stops using it on the categories page (each change audited); a new
    dataset can be filed under it only while it is in use; a municipal admin may not change the list."""
    import sqlalchemy as sa

    from core.audit import AuditRecord
    from core.errors import Invalid
    from catalogue import operations
    from tests.datasets.conftest import KUMAMOTO_ADMIN

    sign_in(client, csrf="t")
    added = client.post("/admin/dataset-categories/add", data={"csrf_token": "t", "code": "smart_city",
                                                               "label_ja": "スマートシティ", "label_en": "Smart city"})
    assert added.status_code == 302
    assert "スマートシティ" in client.get("/admin/dataset-categories/").get_data(as_text=True)
    operations.register(db, KUMAMOTO_ADMIN, draft(category_code="smart_city"))
    db.commit()
    assert client.post("/admin/dataset-categories/smart_city/active",
                       data={"csrf_token": "t", "active": "0"}).status_code == 302
    assert "スマートシティ（使用停止中）" in client.get("/admin/dataset-categories/").get_data(as_text=True)
    with pytest.raises(Invalid) as refused:
        operations.register(db, KUMAMOTO_ADMIN, draft(category_code="smart_city"))
    assert [p["field"] for p in refused.value.problems] == ["category_code"]
    db.rollback()
    assert db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("dataset.category.%"))
                      .order_by(AuditRecord.id)).all() == ["dataset.category.add", "dataset.category.active"]
    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    assert client.post("/admin/dataset-categories/add", data={"csrf_token": "t", "code": "mine", "label_ja": "私の"}
                       ).status_code == 403


def test_each_dataset_states_the_split_of_responsibility_on_its_page_and_in_the_catalogue(client, db, providers):
    """責任分界: the provider, the platform operator and the user, each with its duty, and the provider's remark,
    on the dataset's page, in its CKAN package and in its DCAT record."""
    import sqlalchemy as sa
    from rdflib import Graph

    from catalogue import operations
    from catalogue.models import Dataset, DatasetStatus
    from tests.datasets.conftest import KUMAMOTO_ADMIN

    remark = "位置は消防局の台帳によります。"
    dataset = operations.register(db, KUMAMOTO_ADMIN, draft(name="kumamoto-aed", responsibility_remark=remark))
    db.execute(sa.update(Dataset).values(status=DatasetStatus.published))
    db.commit()
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get(f"/admin/datasets/{dataset.uid}").get_data(as_text=True)
    for duty in ("データの正確性と公開する権利に責任を負います。", "プラットフォームの稼働と安全性に責任を負います。",
                 "利用条件の範囲内で利用する責任を負います。", remark):
        assert duty in page
    package = client.get("/api/3/action/package_show?id=kumamoto-aed").get_json()["result"]
    assert [part["party"] for part in package["responsibility"]] == ["provider", "operator", "user"]
    assert package["responsibility"][0]["remark"] == remark
    feed = Graph().parse(data=client.get("/catalog.ttl").get_data(as_text=True), format="turtle")
    stated = [str(o) for _s, p, o in feed if str(p).endswith("/ns#responsibility")]  # renkei:responsibility
    assert len(stated) == 1 and "プラットフォーム運営者" in stated[0] and remark in stated[0]


SEOUL_WITH_A_SPACE = ("名称,名称_カナ,住所,緯度,経度,設置位置,URL\n"
                      "熊本市役所,クマモトシヤクショ,熊本市中央区手取本町1-1,32.803,130.707,1階正面玄関,https://www.city.kumamoto.jp/\n"
                      "ソウル市庁,ソウルシチョウ,ソウル特別市中区世宗大路110,37.5665,126.9780,1階,https://www.seoul.go.kr/a b\n")


def test_a_point_in_seoul_and_a_url_with_a_space_are_refused_on_the_upload_and_on_the_api(client, db, providers, open_api):
    import base64

    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    detail = client.post("/admin/datasets/new", data={**FORM, "csrf_token": "t"}).headers["Location"]
    client.post(f"{detail}/check", content_type="multipart/form-data",
                data={"csrf_token": "t", "file": (io.BytesIO(SEOUL_WITH_A_SPACE.encode("cp932")), "aed.csv")})
    text = client.get(detail).get_data(as_text=True)
    assert "不適合（2 件）" in text and "熊本県の区域" in text and "URL に空白は使えません" in text
    uid = detail.rstrip("/").rsplit("/", 1)[-1]
    checked = client.post(f"/api/v1/datasets/{uid}/check", json={
        "filename": "aed.csv", "content_base64": base64.b64encode(SEOUL_WITH_A_SPACE.encode("utf-8")).decode()})
    assert checked.status_code == 200 and checked.json["label_ja"] == "不適合（2 件）"
    problems = {(p["row"], p["column"]): p for p in checked.json["problems"]}
    assert set(problems) == {("3", "緯度・経度"), ("3", "URL")}
    assert "outside the prefecture's area, 熊本県" in problems[("3", "緯度・経度")]["message_en"]
    assert "has a space" in problems[("3", "URL")]["message_en"] and "空白" in problems[("3", "URL")]["message_ja"]
