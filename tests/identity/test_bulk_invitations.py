"""Reading a bulk invitation file, and what happens when the identity server fails part way.

These tests need no Keycloak: the file checks come before any call to it, and the part-way
failure is played by a stand-in directory that stops answering at a chosen account.
"""

import pytest

from core.actor import Actor
from core.audit import AuditRecord
from tenancy.errors import IdentityUnavailable
from tenancy.identity import invitations

KUMAMOTO_ADMIN = Actor(issuer="urn:test", subject="kumamoto-admin", name="熊本市 管理者",
                       roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))
HEADER = "ユーザー名,メールアドレス,姓,名,役割\n"


def line(username, roles="市町村職員", email=None):
    return f"{username},{email or username + '@example.jp'},熊本,太郎,{roles}\n"


def problems_of(raw: bytes, actor=KUMAMOTO_ADMIN) -> list[str]:
    with pytest.raises(invitations.InvitationFileRejected) as refused:
        invitations.parse(raw, actor)
    return [item["message_ja"] for item in refused.value.problems] or [refused.value.message_ja]


def test_japanese_headers_and_role_names_in_cp932_become_invitations():
    raw = (HEADER + line("taro") + line("hanako", "市町村管理者、市町村職員")).encode("cp932")
    parsed = invitations.parse(raw, KUMAMOTO_ADMIN)
    assert [(item.line, item.invitation.username) for item in parsed] == [(2, "taro"), (3, "hanako")]
    assert parsed[1].invitation.roles == {"municipal-admin", "municipal-staff"}
    assert parsed[0].invitation.last_name == "熊本" and parsed[0].invitation.first_name == "太郎"


def test_every_bad_line_is_named_with_its_field():
    raw = (HEADER + line("okay") + line("x") + line("bad-role", "係長") + line("OKAY", email="other@example.jp")
           + line("finance", "財政・会計担当")).encode("utf-8-sig")
    problems = problems_of(raw)
    assert any(p.startswith("3 行目（ユーザー名）") for p in problems)
    assert any(p.startswith("4 行目（役割）") and "係長" in p for p in problems)
    assert any(p.startswith("5 行目（ユーザー名）") and "2 行目と同じ" in p for p in problems)
    assert any(p.startswith("6 行目（役割）") and "財政・会計担当" in p for p in problems)  # not grantable by a municipal admin
    assert not any(p.startswith("2 行目") for p in problems)


def test_a_missing_column_and_an_empty_file_are_refused():
    assert any("役割" in p for p in problems_of("ユーザー名,メールアドレス,姓,名\nx,x@example.jp,a,b\n".encode()))
    assert problems_of(HEADER.encode()) == ["ファイルにデータ行がありません。"]


class StoppingDirectory:
    """Keycloak's part for the bulk operation, which stops answering at the ``fail_at``-th new account."""

    sends_mail = False

    def __init__(self, fail_at: int):
        self.fail_at, self.created, self.members = fail_at, [], set()

    def find_user(self, username):
        return None

    def find_user_by_email(self, email):
        return None

    def find_tenant_group(self, code):
        return {"id": "group-431001"}

    def count_members(self, code):
        return len(self.members)

    def ensure_tenant_group(self, code, name_ja=""):
        return "group-431001"

    def create_user(self, username, email, first_name, last_name, password=None, *, temporary_password=None):
        if len(self.created) + 1 == self.fail_at:
            raise IdentityUnavailable("Keycloak did not answer.", "認証サーバー（Keycloak）に接続できませんでした。")
        self.created.append(username)
        return f"id-{username}"

    def add_to_tenant(self, user_id, code, group_id=None):
        self.members.add(user_id)

    def grant_roles(self, user_id, roles):
        pass

    def delete_user(self, user_id):
        raise AssertionError("nothing half-made to undo here")


def test_a_failure_part_way_reports_which_lines_were_invited(db, tenant_factory):
    tenant_factory("431001")
    directory = StoppingDirectory(fail_at=3)
    raw = (HEADER + "".join(line(f"staff{i}") for i in range(1, 5))).encode("cp932")
    result = invitations.invite_from_csv(db, KUMAMOTO_ADMIN, directory, "431001", raw)
    assert [r.line for r in result.created] == [2, 3]
    assert [r.line for r in result.not_created] == [4, 5]
    assert "接続できませんでした" in result.lines[2].error.message_ja and result.lines[3].error is None
    assert db.query(AuditRecord).filter_by(action="user.invite").count() == 2
    assert all(r.invited.setup.temporary_password for r in result.created)


def test_the_seat_limit_refuses_the_whole_file(db, tenant_factory):
    tenant_factory("431001", user_seat_limit=2)
    directory = StoppingDirectory(fail_at=0)
    directory.members = {"someone"}
    raw = (HEADER + line("aaa1") + line("aaa2")).encode()
    with pytest.raises(invitations.InvitationFileRejected) as refused:
        invitations.invite_from_csv(db, KUMAMOTO_ADMIN, directory, "431001", raw)
    assert "あと 1 人まで招待できます" in refused.value.message_ja
    assert directory.created == []

