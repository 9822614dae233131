"""`renkei residents ...`: a new key put first in the settings, the rotation re-encrypting every resident
under it (audited), the old key then no longer needed; the review queue of a municipality."""

from __future__ import annotations

import sqlalchemy as sa

from core.audit import AuditRecord
from residents import operations as residents
from residents.crypto import parse_keys
from tests.residents.conftest import KUMAMOTO, desk, person


def cli(app, *args, role: str | None = None):
    roles = ["--role", role] if role else []
    return app.test_cli_runner().invoke(args=["residents", *args, "--as", "cli-test", *roles])


def test_a_new_key_first_then_rotate_key_keeps_every_value(app, db, consent_setup, monkeypatch):
    made = app.test_cli_runner().invoke(args=["residents", "new-key", "k1"])
    old = made.output.strip()
    monkeypatch.setitem(app.config, "RENKEI_RESIDENT_KEYS", old)
    monkeypatch.setitem(app.extensions, "renkei_resident_keys", None)
    ring = parse_keys(old)
    enrolled = [residents.enrol(db, desk(), ring, person(full_name=f"住民 {n}", birth_date=f"19{60 + n}-05-06"))
                .resident.common_id for n in range(3)]
    db.commit()
    new = app.test_cli_runner().invoke(args=["residents", "new-key", "k2"]).output.strip()
    assert new.startswith("k2:") and new != old
    monkeypatch.setitem(app.config, "RENKEI_RESIDENT_KEYS", f"{new},{old}")
    monkeypatch.setitem(app.extensions, "renkei_resident_keys", None)
    result = cli(app, "rotate-key")
    assert result.exit_code == 0, result.output
    assert "3 of 3 resident(s) re-encrypted under key k2" in result.output
    db.expire_all()
    assert set(db.scalars(sa.text("SELECT key_id FROM resident"))) == {"k2"}
    only_new = parse_keys(new)
    for n, common_id in enumerate(enrolled):
        assert residents.look_up(db, desk(), only_new, KUMAMOTO, common_id=common_id,
                                 reason="鍵の更新の確認")["full_name"] == f"住民 {n}"
    [rotation] = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.key.rotate")).all()
    assert rotation.target_id == "k2" and rotation.actor_subject == "cli-test"
    # the residents' desk may not rotate the key; a bad key name is refused in words
    assert cli(app, "rotate-key", role="resident-desk").exit_code != 0
    assert app.test_cli_runner().invoke(args=["residents", "new-key", "bad key!"]).exit_code == 2


def test_the_review_queue_is_the_municipality_desks_own(app, db, consent_setup):
    residents.enrol(db, desk(), parse_keys(_dev()), person())
    residents.enrol(db, desk(), parse_keys(_dev()), person(full_name="高橋　太郎"))
    db.commit()
    # a command's --as person belongs to no municipality: the desk's own-tenant right gives them nothing
    refused = cli(app, "reviews", KUMAMOTO, role="resident-desk")
    assert refused.exit_code != 0 and "431001" in refused.output


def _dev() -> str:
    from residents.crypto import DEVELOPMENT_KEYS

    return DEVELOPMENT_KEYS


def test_a_split_proposed_and_approved_by_two_people_of_the_desk_from_the_command_line(app, db, consent_setup,
                                                                                       monkeypatch):
    from admin.commands import signin
    from residents.models import ServiceLink
    from tests.residents.test_recovery import second_desk

    navi = consent_setup()
    common_id = residents.enrol(db, desk(), parse_keys(_dev()), person()).resident.common_id
    residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                             "assurance_level": 3})
    db.commit()
    signed_in = {"actor": desk()}  # who `renkei login` signed in: a desk person of the city, then a second one
    monkeypatch.setattr(signin, "authenticated_actor", lambda roles: (signed_in["actor"], {signed_in["actor"].subject}))
    runner = app.test_cli_runner()
    proposed = runner.invoke(args=["residents", "split", KUMAMOTO, common_id, str(navi.id), "--reason", "別人のID"])
    assert proposed.exit_code == 0, proposed.output
    assert "#1\tsplit\tproposed" in proposed.output and "navi-user-0001" in proposed.output
    own = runner.invoke(args=["residents", "approve", KUMAMOTO, "1"])
    assert own.exit_code != 0 and "別の担当者" in own.output  # four eyes, said in words
    signed_in["actor"] = second_desk()
    assert "#1\tsplit\tproposed" in runner.invoke(args=["residents", "recoveries", KUMAMOTO]).output
    approved = runner.invoke(args=["residents", "approve", KUMAMOTO, "1", "--reason", "申出書で確認"])
    assert approved.exit_code == 0 and "approved" in approved.output, approved.output
    db.expire_all()
    assert db.scalar(sa.select(ServiceLink.ended_by)) == "住民窓口 二人目 431001"
    assert runner.invoke(args=["residents", "refuse", KUMAMOTO, "1"]).exit_code == 2  # a refusal needs its reason


def test_the_desk_searches_by_name_and_reads_the_figures_from_the_command_line(app, db, consent_setup, monkeypatch):
    from admin.commands import signin

    residents.enrol(db, desk(), parse_keys(_dev()), person())
    db.commit()
    # a person signed in at the command line (renkei login) as Kumamoto's residents' desk
    monkeypatch.setattr(signin, "authenticated_actor", lambda roles: (desk(), {"desk-431001"}))
    runner = app.test_cli_runner()
    found = runner.invoke(args=["residents", "search-name", KUMAMOTO, "高橋　太郎", "--reason", "電話での照会"])
    assert found.exit_code == 0, found.output
    assert "髙橋 太郎\t1980-04-01" in found.output
    missing = runner.invoke(args=["residents", "search-name", KUMAMOTO, "高橋 太郎", "--reason", " "])
    assert missing.exit_code != 0 and "理由" in missing.output
    [search] = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.search")).all()
    assert search.actor_subject == "desk-431001"
    numbers = runner.invoke(args=["residents", "figures", KUMAMOTO])
    assert numbers.exit_code == 0, numbers.output
    assert "total\t<10" in numbers.output  # one enrolment: suppressed
    other = runner.invoke(args=["residents", "figures", "432024"])
    assert other.exit_code != 0
