"""The command line acts for a named person (--as, RENKEI_ACTOR, else the operating-system user),
in the roles --role gives, and the audit log records that person."""

import getpass

import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.registry.models import Tenant

CSV = "団体コード,団体名,種別,人口\r\n431001,熊本市,政令指定都市,738865\r\n".encode("cp932")


def records(db):
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))


def test_the_audit_record_names_the_person_given_with_as(app, db, tmp_path):
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path), "--as", "yamada.taro"])
    assert result.exit_code == 0, result.output
    [record] = records(db)
    # one record for the import (a file of 1,741 rows is one act, not 1,741)
    assert (record.action, record.actor_subject, record.actor_name) == ("tenant.import", "yamada.taro", "yamada.taro")
    assert record.actor_issuer == "urn:renkei:cli"
    assert record.actor_role == "platform-operator"


def test_renkei_actor_names_the_person_and_the_os_user_is_the_default(app, db, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes(CSV)
    second.write_bytes("団体コード,団体名,種別,人口\r\n432024,八代市,市,123067\r\n".encode("cp932"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "import", str(first)], env={"RENKEI_ACTOR": "suzuki.hanako"})
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["tenants", "import", str(second)], env={"RENKEI_ACTOR": ""})
    assert result.exit_code == 0, result.output
    assert [(r.target_id, r.actor_subject) for r in records(db)] == [("431001", "suzuki.hanako"),
                                                                      ("432024", getpass.getuser())]


def test_a_role_without_the_right_is_refused_and_nothing_is_written(app, db, tmp_path):
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path), "--as", "sato", "--role", "auditor"])
    assert result.exit_code != 0
    assert "権限がありません" in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0
    assert records(db) == []
