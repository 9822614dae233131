"""The consent pages (admin UI, Japanese by default): registering and approving a service, a clerk's
paper consent and withdrawal, the receipt, a person's history, the linkage search; forms that come
back with what was typed and the problem beside the field; irreversible acts that ask first."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.conftest import sign_in
from tests.consent.conftest import BROKER, KUMAMOTO, YATSUSHIRO, person

FORM = {"owner_code": KUMAMOTO, "name": "子育て支援ナビ", "provider": "熊本市 子ども政策課", "controller": "熊本市長",
        "controller_contact": "kosodate@example.jp", "responsibility": "受け取ったデータは熊本市が管理する。",
        "retention_days": "365", "required_level": "2", "api_client_id": "", "title": "子育て支援ナビへの情報提供の同意",
        "body_ja": "あなたの情報を子育て支援のために利用します。", "body_en": "",
        "purposes": "子育て支援サービスの案内\n", "item_name": ["生年月日", "世帯構成", ""], "item_dataset": ["", "", ""]}


def _check(db, service_id: int, subject: str, items=("生年月日",), purpose="子育て支援サービスの案内"):
    from residents.consent import check

    decision = check.consent_check(db, BROKER, {"service_id": service_id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                                "items": list(items), "purpose": purpose})
    db.commit()
    return decision


def test_an_admin_registers_a_service_the_operator_approves_it_a_clerk_records_and_withdraws_a_consent(
        client, db, consent_setup):
    from residents.consent.models import ConsentRecord, DataService

    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    form = client.get("/admin/consent-services/new").get_data(as_text=True)
    assert "データ利用サービスの登録" in form and "熊本市（431001）" in form and "レベル2" in form
    refused = client.post("/admin/consent-services/new", data={**FORM, "retention_days": "一年", "controller": "",
                                                               "csrf_token": "t"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "日数を数字で入力してください" in text and 'value="一年"' in text
    assert 'id="retention_days-error"' in text and db.scalar(sa.select(sa.func.count()).select_from(DataService)) == 0
    refused = client.post("/admin/consent-services/new", data={**FORM, "controller": "", "csrf_token": "t"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="controller-error"' in text and "子育て支援ナビ" in text
    saved = client.post("/admin/consent-services/new", data={**FORM, "csrf_token": "t"})
    assert saved.status_code == 302
    service = db.scalar(sa.select(DataService))
    detail = saved.headers["Location"]
    page = client.get(detail).get_data(as_text=True)
    assert "承認待ち" in page and "熊本市長" in page and "受け取ったデータは熊本市が管理する。" in page
    assert "子育て支援サービスの案内" in page and "世帯構成" in page
    # the admin cannot approve: only the operator
    assert client.post(f"{detail}/move/approve", data={"csrf_token": "t", "confirmed": "1"}).status_code == 403

    sign_in(client, csrf="t")
    asked = client.post(f"{detail}/move/approve", data={"csrf_token": "t"})
    assert asked.status_code == 200 and "このサービスを承認しますか？" in asked.get_data(as_text=True)
    db.refresh(service)
    assert service.status.value == "registered"  # nothing before the confirmation
    client.post(f"{detail}/move/approve", data={"csrf_token": "t", "confirmed": "1"})
    db.refresh(service)
    assert service.status.value == "approved"

    subject = person()
    sign_in(client, ["municipal-staff"], [KUMAMOTO], subject="clerk-431001", name="窓口 花子", csrf="t")
    form = client.get("/admin/consent/").get_data(as_text=True)
    text_id = service.current_text_id
    assert f'value="{service.id}:{text_id}"' in form and "第1版" in form
    refused = client.post("/admin/consent/give", data={"csrf_token": "t", "tenant_code": KUMAMOTO, "subject_id": "山田",
                                                       "text_choice": f"{service.id}:{text_id}", "method": "paper",
                                                       "assurance_level": "2", "expires_on": ""})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="subject_id-error"' in text and 'value="山田"' in text
    given = client.post("/admin/consent/give", data={"csrf_token": "t", "tenant_code": KUMAMOTO, "subject_id": subject,
                                                     "text_choice": f"{service.id}:{text_id}", "method": "paper",
                                                     "assurance_level": "2", "expires_on": ""})
    assert given.status_code == 302 and "/admin/consent/receipt/" in given.headers["Location"]
    receipt = client.get(given.headers["Location"]).get_data(as_text=True)
    assert "同意の記録票" in receipt and subject in receipt and "窓口（紙）" in receipt and "窓口 花子" in receipt
    english = client.get(given.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "Consent receipt" in english and "Paper at a counter" in english
    client.get("/admin/consent/?lang=ja")  # the language is remembered in the session: back to Japanese
    assert _check(db, service.id, subject).allowed

    asked = client.post("/admin/consent/withdraw", data={"csrf_token": "t", "tenant_code": KUMAMOTO, "subject_id": subject,
                                                         "service_id": str(service.id), "method": "paper"})
    assert asked.status_code == 200 and "取り消すことはできません" in asked.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 1
    client.post("/admin/consent/withdraw", data={"csrf_token": "t", "tenant_code": KUMAMOTO, "subject_id": subject,
                                                 "service_id": str(service.id), "method": "paper", "confirmed": "1"})
    refused = _check(db, service.id, subject)
    assert not refused.allowed and refused.reason == "withdrawn"

    history = client.get(f"/admin/consent-history/?tenant={KUMAMOTO}&subject={subject}").get_data(as_text=True)
    assert "撤回" in history and "許可" in history and "同意が撤回されている" in history and "子育て支援ナビ" in history
    # the data items in words on every row (a dict's ``items`` had shown as Python's method text)
    rows = re.findall(r"<tr>(.*?)</tr>", history, re.S)
    assert "object at 0x" not in history and sum("生年月日" in row for row in rows) >= 3  # 2 consents, 2 linkages
    csv = client.get(f"/admin/consent-history/export.csv?tenant={KUMAMOTO}&subject={subject}")
    lines = csv.get_data().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("区分,番号,日時") and sum(1 for line in lines if line.startswith("連携記録")) == 2


def test_a_clerk_of_another_city_cannot_record_or_read_its_people(client, db, consent_setup, give):
    service = consent_setup()
    subject = person()
    give(service, subject)
    sign_in(client, ["municipal-staff"], [YATSUSHIRO], csrf="t")
    page = client.get(f"/admin/consent-history/?tenant={KUMAMOTO}&subject={subject}")
    assert page.status_code == 422 and subject not in page.get_data(as_text=True).split("</form>")[-1]
    assert client.get(f"/admin/consent-history/export.csv?tenant={KUMAMOTO}&subject={subject}").status_code == 403
    refused = client.post("/admin/consent/give", data={
        "csrf_token": "t", "tenant_code": KUMAMOTO, "subject_id": person(), "text_choice": f"{service.id}:{service.current_text_id}",
        "method": "paper", "assurance_level": "2", "expires_on": ""})
    assert refused.status_code == 422 and "ご自身の団体の住民" in refused.get_data(as_text=True)


def test_a_history_asked_of_no_municipality_or_too_long_an_id_is_refused_beside_the_field(client, db, consent_setup):
    """The operator may ask of every municipality: one that is not registered (or 300 characters long, beyond
    what the audit record's column holds, which PostgreSQL refuses at the commit) is refused beside its field,
    as is an identifier longer than any record's; the audit log records no such read."""
    from core.audit import AuditRecord

    consent_setup()
    sign_in(client, ["platform-operator"], [], csrf="t")
    before = db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "consent.history.read"))
    for tenant, subject in (("x" * 300, person()), ("439999", person()), (KUMAMOTO, "p" * 129)):
        page = client.get(f"/admin/consent-history/?tenant={tenant}&subject={subject}")
        text = page.get_data(as_text=True)
        assert page.status_code == 422, (tenant[:10], subject[:10], page.status_code)
        assert ("登録されている団体を選んでください" in text) if subject != "p" * 129 else ("128文字以内" in text)
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "consent.history.read")) == before


def test_the_auditor_searches_linkages_and_a_new_text_version_asks_first(client, db, consent_setup, give):
    from residents.consent.models import ConsentText

    service = consent_setup()
    subject = person()
    give(service, subject)
    _check(db, service.id, subject)
    _check(db, service.id, subject, purpose="広告の配信")
    sign_in(client, ["auditor"], subject="auditor-1")
    found = client.get(f"/admin/consent-linkages/?search=1&service={service.id}&result=refused").get_data(as_text=True)
    assert "同意の範囲外の利用目的" in found and "広告の配信" in found and "本人の同意に基づき許可" not in found
    assert "生年月日" in found and "object at 0x" not in found  # the items in words
    assert client.post(f"/admin/consent-services/{service.id}/move/suspend").status_code in (400, 403)

    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    draft = {"csrf_token": "t", "title": "第2版", "body_ja": "目的を追加しました。", "body_en": "",
             "purposes": "子育て支援サービスの案内\n健診の案内", "item_name": ["生年月日", "世帯構成"],
             "item_dataset": ["", ""]}
    asked = client.post(f"/admin/consent-services/{service.id}/texts/new", data=draft)
    assert asked.status_code == 200 and "新しい版の同意文を公開しますか？" in asked.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentText)) == 1
    client.post(f"/admin/consent-services/{service.id}/texts/new", data={**draft, "confirmed": "1"})
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentText)) == 2
    assert _check(db, service.id, subject).reason == "text_superseded"
    # another city's admin sees neither the service nor its linkages
    sign_in(client, ["municipal-admin"], [YATSUSHIRO])
    assert client.get(f"/admin/consent-services/{service.id}").status_code == 404
    assert client.get(f"/admin/consent-services/{service.id}/linkages").status_code == 404
    assert "子育て支援ナビ" not in client.get("/admin/consent-services/").get_data(as_text=True)


def test_the_operator_keeps_the_assurance_levels(client, db, consent_setup):
    sign_in(client, csrf="t")
    refused = client.post("/admin/consent-services/levels", data={"csrf_token": "t", "level": "4", "label_ja": "",
                                                                   "label_en": "Level 4"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="label_ja-error"' in text and 'value="Level 4"' in text
    client.post("/admin/consent-services/levels", data={"csrf_token": "t", "level": "4", "label_ja": "レベル4：対面確認",
                                                        "label_en": ""})
    assert "レベル4：対面確認" in client.get("/admin/consent-services/levels").get_data(as_text=True)
