"""The audit log names people and things (issue 25): on its page and in its CSV for an office, a user
act names the person (「田中 太郎」), a member act the organisation, an import the number of tenants;
the CSV has Japanese headers, Japan time and words for codes, and is bounded; the CLI's --as names
the person as Keycloak knows them, as the admin UI does."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tests.admin.test_labels import raw_codes_in, visible_text
from tests.conftest import sign_in

NTA = "7000012050002"
CSV_FILE = ("団体コード,団体名,種別,人口\r\n431001,熊本市,政令指定都市,738865\r\n432024,八代市,市,123067\r\n"
            "433675,南阿蘇村,村,10000\r\n").encode("cp932")


def words_csv(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/admin/audit-verify/export{query}")
    assert response.status_code == 200, response.status_code
    data = response.get_data()
    response.close()
    assert data.startswith("\ufeff".encode())  # Excel opens UTF-8 with a BOM
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def member_applied(db):
    from tenancy.members import operations as members

    members.apply(db, members.Application(NTA, "くまもとデータ株式会社", "company", "熊本県", "代表 太郎", "担当 花子",
                                          "apply@example.jp"),
                  confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    db.commit()


def imported(app, tmp_path):
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV_FILE)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path), "--as", "yamada.taro"])
    assert result.exit_code == 0, result.output


def test_a_member_act_and_an_import_are_named_in_words(app, client, db, member_applied, tmp_path):
    imported(app, tmp_path)
    sign_in(client, ["auditor"])
    listing = visible_text(client.get("/admin/audit/").get_data(as_text=True))
    assert "くまもとデータ株式会社（法人番号 7000012050002）" in listing  # the member, not its 13 digits alone
    assert "3 団体" in listing and "tenants" not in listing
    rows = words_csv(client)
    assert rows[0] == ["番号", "日時（日本時間）", "操作者", "役割", "参加団体", "操作", "対象種別", "対象", "変更前", "変更後",
                       "接続元IPアドレス"]
    by_action = {row[5]: row for row in rows[1:]}
    apply = by_action["入会申請"]
    assert apply[4] == apply[7] == "くまもとデータ株式会社（法人番号 7000012050002）" and apply[6] == "会員団体"
    assert "名称：くまもとデータ株式会社" in apply[9] and "状態：メール確認待ち" in apply[9]
    imports = by_action["参加団体の一括登録（ファイル取込）"]
    assert imports[7] == "3 団体" and imports[3] == "運営者（県）"
    for row in rows[1:]:
        assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", row[1]), row[1]  # a time Excel reads, in Japan time
    text = "\n".join(",".join(row) for row in rows)
    assert raw_codes_in(text, ["tenant.import", "member.apply", "unconfirmed", "company"]) == []


@pytest.mark.keycloak
def test_a_user_act_names_the_person_on_the_page_and_in_the_csv(client, db, tenant_factory, directory, operator):
    from tenancy.identity import operations as identity

    tenant_factory("431001")
    username = f"tanaka-{uuid.uuid4().hex[:6]}"
    account = identity.invite_user(db, operator, directory, "431001", identity.Invitation(
        username, f"{username}@example.jp", "太郎", "田中", frozenset({"municipal-staff"})))
    identity.change_roles(db, operator, directory, "431001", account.id, frozenset({"municipal-admin"}))
    db.commit()
    sign_in(client, ["auditor"])
    listing = visible_text(client.get("/admin/audit/").get_data(as_text=True))
    assert f"田中 太郎（{username}）" in listing and account.id not in listing
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "user.roles"))
    details = visible_text(client.get(f"/admin/audit/details/?id={record.id}").get_data(as_text=True))
    assert "氏名 田中 太郎" in details and "役割 市町村管理者" in details
    rows = words_csv(client)
    roles = next(row for row in rows if row[5] == "利用者の役割の変更")
    assert roles[6] == "利用者" and roles[7] == f"田中 太郎（{username}）"
    assert roles[8] == "役割：市町村職員" and "役割：市町村管理者" in roles[9]
    assert roles[4] == "431001 熊本市"
    invited = next(row for row in rows if row[5] == "利用者の招待")
    assert invited[7] == f"田中 太郎（{username}）" and "ユーザー名：" + username in invited[9]


def test_the_csv_in_words_is_bounded_and_the_machine_readable_one_stays(client, db, tenant_factory, monkeypatch):
    from admin.views import audit as audit_views

    for code in ("431001", "432024", "433675"):
        tenant_factory(code)
    monkeypatch.setattr(audit_views, "WORDS_LIMIT", 2)
    sign_in(client, ["auditor"])
    refused = client.get("/admin/audit-verify/export?format=words", follow_redirects=True)
    text = visible_text(refused.get_data(as_text=True))
    assert "この期間の記録は 3 件あり" in text and "上限 2 件" in text and "期間を短く" in text
    machine = client.get("/admin/audit-verify/export?format=csv")
    body = machine.get_data().decode("utf-8-sig")
    machine.close()
    assert "tenant.create" in body and body.count("\r\n") == 4  # every record as stored, no limit
    assert len(words_csv(client, "?format=words&to=2000-01-01")) == 1  # an empty period: the headers only


def test_the_english_csv_in_words_is_in_english(client, db, tenant_factory):
    tenant_factory("431001")
    sign_in(client, ["auditor"])
    rows = words_csv(client, "?lang=en")
    assert rows[0][:3] == ["No.", "Time (Japan)", "Actor"]
    assert rows[1][5] == "Tenant registered" and rows[1][7] == "431001 Kumamoto"


@pytest.mark.keycloak
def test_the_cli_names_the_person_as_keycloak_knows_them(app, client, db, user_factory, tmp_path, monkeypatch):
    account, _ = user_factory(("platform-operator",), fresh=True)
    # as in the demo (RENKEI_ENV=development): --as names a person, whom Keycloak knows by name
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setitem(app.config, "RENKEI_ENV", "development")
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV_FILE)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path), "--as", account.username])
    assert result.exit_code == 0, result.output
    monkeypatch.setitem(app.config, "TESTING", True)
    [record] = db.scalars(sa.select(AuditRecord)).all()
    assert (record.actor_subject, record.actor_name) == (account.username, "利用者 テスト")  # family name first, as the UI names them
    sign_in(client, ["auditor"])
    listing = visible_text(client.get("/admin/audit/").get_data(as_text=True))
    assert f"利用者 テスト（{account.username}）" in listing
