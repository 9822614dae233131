"""Waves: `renkei onboarding wave FY2025 --from FILE.csv` onboards many municipalities in one go."""

from importlib import resources

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.onboarding import lifecycle, waves
from core.actor import console_actor
from tenancy.errors import ImportRejected
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.registry.sample import WAVE_2, load_kumamoto

from .conftest import audit_actions, users_named

WAVE_2_CSV = resources.files("tenancy") / "data" / "kumamoto_wave2_fy2025.csv"
HEADER = "団体コード,担当者名,メールアドレス,申込書受領,参加資格確認,反社会的勢力でないことの確認,協定同意\n"


def wave(app, *args):
    return app.test_cli_runner().invoke(args=["onboarding", "wave", *args])


def statuses(db):
    db.expire_all()
    return {t.code: t.status for t in db.scalars(sa.select(Tenant))}


def test_the_packaged_wave_2_file_names_the_eight_wave_2_municipalities():
    rows = waves.parse_wave_csv(WAVE_2_CSV.read_bytes())
    assert sorted(r.code for r in rows) == sorted(WAVE_2)
    assert all(r.contact.email.endswith(".example.jp") for r in rows)
    assert all(len(r.confirmed) == 4 for r in rows)


def test_wave_2_onboards_from_one_csv_in_one_command_and_the_board_shows_21(app, db, directory, client, as_operator):
    load_kumamoto(db, console_actor("sample", {"platform-operator"}))
    db.commit()
    result = wave(app, "FY2025", "--from", str(WAVE_2_CSV))
    assert result.exit_code == 0, result.output
    assert "8/8" in result.output
    for code in WAVE_2:
        assert code in result.output

    now = statuses(db)
    assert {code: now[code] for code in WAVE_2} == {code: TenantStatus.active for code in WAVE_2}
    for row in waves.parse_wave_csv(WAVE_2_CSV.read_bytes()):
        assert directory.find_tenant_group(row.code) is not None
        [admin] = users_named(directory, row.contact.email)
        account = directory.account(admin["id"])
        assert row.code in account.tenant_codes and "municipal-admin" in account.roles

    board = client.get("/api/v1/onboarding/board", headers=as_operator).get_json()
    assert board["active_municipalities"] == 21
    assert board["waves"]["2025"]["active"] == 8 and board["waves"]["2024"]["active"] == 13

    again = wave(app, "FY2025", "--from", str(WAVE_2_CSV))  # running the same wave again changes nothing
    assert again.exit_code == 0, again.output
    moves = audit_actions(db, "432059")
    assert moves.count("tenant.activate") == 1
    # each run of the wave is one act in the audit log, with every municipality's acts inside it
    db.expire_all()
    assert db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action == "onboarding.wave")).all() == \
        ["onboarding.wave", "onboarding.wave"]


@pytest.mark.keycloak  # the complete row is provisioned in the app's realm
def test_one_failure_does_not_stop_the_others_and_the_exit_code_says_so(app, db, tmp_path):
    source = tmp_path / "wave.csv"
    source.write_text(HEADER
                      + "432059,水俣 花子,wave-minamata-partial@example.jp,済,済,,済\n"  # anti-social forces not confirmed
                      + "432083,山鹿 一郎,wave-yamaga-partial@example.jp,済,済,済,済\n", encoding="utf-8")
    result = wave(app, "2025", "--from", str(source))
    assert result.exit_code == 1
    assert "1/2" in result.output
    assert "反社会的勢力でないことの確認" in result.output
    now = statuses(db)
    assert (now["432059"], now["432083"]) == (TenantStatus.screening, TenantStatus.active)
    minamata = db.scalars(sa.select(Tenant).where(Tenant.code == "432059")).one()
    ticked = {entry.key for entry, row in lifecycle.checklist(db, minamata, "screening") if row and row.checked}
    assert ticked == {"application_received", "eligibility_confirmed", "agreements_accepted"}  # kept for next time


def test_a_file_with_a_bad_row_is_refused_whole(app, db, tmp_path):
    source = tmp_path / "wave.csv"
    source.write_text(HEADER
                      + "432059,水俣 花子,wave-ok@example.jp,済,済,済,済\n"
                      + "432084,山鹿 一郎,not-an-address,済,はい?,済,済\n", encoding="utf-8")
    result = wave(app, "FY2025", "--from", str(source))
    assert result.exit_code == 2
    assert "line 3: code" in result.output  # check digit of 432084
    assert "line 3: contact_email" in result.output
    assert "line 3: eligibility_confirmed" in result.output
    assert statuses(db) == {}
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 0


def test_a_wave_file_from_excel_in_shift_jis_is_read(tmp_path):
    raw = (HEADER + "434035,大津 健太,wave-ozu@example.jp,済,済,済,済\n").encode("cp932")
    [row] = waves.parse_wave_csv(raw)
    assert (row.code, row.contact.name) == ("434035", "大津 健太")


@pytest.mark.parametrize("text,year", [("FY2025", 2025), ("2025", 2025), ("令和7年度", 2025), ("R7", 2025), ("令和元年度", 2019)])
def test_fiscal_years_as_people_write_them(text, year):
    assert waves.parse_fiscal_year(text) == year


def test_a_suspended_or_withdrawn_tenant_is_not_brought_back_by_a_wave(db, tenant_factory):
    tenant_factory("432059", status="withdrawn")
    rows = waves.parse_wave_csv((HEADER + "432059,水俣 花子,w@example.jp,済,済,済,済\n").encode())
    with pytest.raises(ImportRejected) as refused:
        waves.validate_wave(db, 2025, rows)
    assert "再申請" in refused.value.problems[0]["message_ja"]


def test_single_moves_and_the_board_from_the_command_line(app, db, applicant):
    tenant = applicant()
    runner = app.test_cli_runner()
    screened = runner.invoke(args=["onboarding", "screen", tenant.code, "--reason", "申込書受領"])
    assert screened.exit_code == 0 and "審査中" in screened.output
    refused = runner.invoke(args=["onboarding", "approve", tenant.code])
    assert refused.exit_code == 1 and "反社会的勢力でないことの確認" in refused.output
    ticked = runner.invoke(args=["onboarding", "check", tenant.code, "no_antisocial_ties"])
    assert ticked.exit_code == 0
    assert runner.invoke(args=["onboarding", "withdraw", tenant.code]).exit_code == 2  # --reason is required
    board = runner.invoke(args=["onboarding", "board"])
    assert board.exit_code == 0 and "審査中" in board.output
    assert statuses(db)[tenant.code] == TenantStatus.screening
