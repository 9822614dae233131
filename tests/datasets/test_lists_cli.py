"""`renkei datasets categories|licences|terms ...` (issue 22, Build 9): the lists the operator keeps and a
dataset's terms of use from the command line, each command acting for a person recorded in the audit log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tests.conftest import PASSWORD

ACCIDENTS = "pref-traffic-accidents"  # the sample's own-terms dataset, named for 熊本市 and 八代市


def run(app, *args, person: str = "unei", env: dict | None = None, **kwargs):
    return app.test_cli_runner().invoke(args=["datasets", *args, *(("--as", person) if person else ())], env=env,
                                        **kwargs)


def actions(db, prefix: str) -> list[tuple[str, str, str]]:
    db.expire_all()
    return [(r.action, r.target_id, r.actor_subject) for r in db.scalars(
        sa.select(AuditRecord).where(AuditRecord.action.like(f"{prefix}%")).order_by(AuditRecord.seq))]


def test_the_operator_keeps_the_licences_from_the_command_line(app, db):
    added = run(app, "licences", "add", "ODbL-1.0", "オープンデータベースライセンス 1.0", "--en", "Open Database License",
                "--url", "https://opendatacommons.org/licenses/odbl/1-0/")
    assert added.exit_code == 0, added.output
    assert "ライセンス ODbL-1.0（オープンデータベースライセンス 1.0）を追加しました" in added.stdout
    listed = run(app, "licences", "list")
    assert listed.exit_code == 0 and listed.stdout.splitlines()[-1] == (
        "ODbL-1.0\tオープンデータベースライセンス 1.0\thttps://opendatacommons.org/licenses/odbl/1-0/\t\t使用中 / in use")
    assert "own-terms\t独自の利用規約\t\t独自の利用規約 / terms of its own\t使用中 / in use" in listed.stdout
    assert run(app, "licences", "stop", "ODbL-1.0").stdout.strip().endswith("使用停止中 / stopped")
    assert run(app, "licences", "list", "--state", "stopped").stdout.splitlines() == [
        "ODbL-1.0\tオープンデータベースライセンス 1.0\thttps://opendatacommons.org/licenses/odbl/1-0/\t\t使用停止中 / stopped"]
    assert run(app, "licences", "resume", "ODbL-1.0").stdout.strip().endswith("使用中 / in use")

    taken = run(app, "licences", "add", "odbl-1.0", "重複")
    assert taken.exit_code == 1 and "ODbL-1.0 はすでに使われています" in taken.output and "is taken" in taken.output
    invalid = run(app, "licences", "add", "x", "名前", "--url", "ftp://example.jp")
    assert invalid.exit_code == 2 and "code:" in invalid.output and "url:" in invalid.output
    assert run(app, "licences", "stop", "GPL-3.0").exit_code == 1
    refused = run(app, "licences", "add", "GPL-3.0", "GPL", "--role", "auditor")
    assert refused.exit_code != 0 and "権限がありません" in refused.output
    assert actions(db, "dataset.licence.") == [("dataset.licence.add", "ODbL-1.0", "unei"),
                                               ("dataset.licence.active", "ODbL-1.0", "unei"),
                                               ("dataset.licence.active", "ODbL-1.0", "unei")]


def test_the_operator_keeps_the_categories_from_the_command_line(app, db):
    added = run(app, "categories", "add", "smart_city", "スマートシティ", "--en", "Smart city")
    assert added.exit_code == 0 and "分野 smart_city（スマートシティ）を追加しました" in added.stdout
    assert run(app, "categories", "stop", "tourism").exit_code == 0
    listed = run(app, "categories", "list").stdout.splitlines()
    assert "tourism\t観光\tTourism\t使用停止中 / stopped" in listed
    assert listed[-1] == "smart_city\tスマートシティ\tSmart city\t使用中 / in use"
    assert run(app, "categories", "list", "--state", "in-use", "--role", "auditor").exit_code == 0  # the auditor reads
    assert run(app, "categories", "add", "Bad Code", "だめ").exit_code == 2
    assert actions(db, "dataset.category.") == [("dataset.category.add", "smart_city", "unei"),
                                                ("dataset.category.active", "tourism", "unei")]


def test_the_provider_reads_and_revises_a_datasets_terms_from_the_command_line(app, db, sample_catalogue, tmp_path):
    listed = run(app, "terms", "versions", ACCIDENTS)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("第1版（現行 / current）\t") and listed.stdout.count("第") == 1
    text = run(app, "terms", "show", ACCIDENTS)
    assert text.exit_code == 0 and "利用規約 第1版（現行） content_hash: " in text.stdout.splitlines()[0]

    body = tmp_path / "terms.md"
    body.write_text("## 第1条\n\n会員の業務にのみ利用できます。第三者への提供を禁じます。\n", encoding="utf-8")
    revised = run(app, "terms", "revise", ACCIDENTS, str(body), "--title", "交通事故統計情報 利用規約")
    assert revised.exit_code == 0 and "利用規約 第2版を施行しました" in revised.stdout
    assert run(app, "terms", "revise", ACCIDENTS, str(body), "--title", "交通事故統計情報 利用規約").exit_code == 1
    shown = run(app, "terms", "show", ACCIDENTS).stdout
    assert "第2版（現行）" in shown and "# 交通事故統計情報 利用規約" in shown and "第三者への提供を禁じます" in shown
    assert "第1版（改定前）" in run(app, "terms", "show", ACCIDENTS, "--version", "1").stdout
    assert run(app, "terms", "show", ACCIDENTS, "--version", "3").exit_code == 1
    assert run(app, "terms", "revise", "kumamoto-city-aed", str(body), "--title", "規約").exit_code == 1  # not own terms
    assert [a for a, _t, who in actions(db, "dataset.terms.") if who == "unei"] == ["dataset.terms.revise"]


@pytest.mark.keycloak
def test_a_consumers_admin_signed_in_accepts_the_terms_from_the_command_line(app, db, sample_catalogue, user_factory,
                                                                            keycloak_settings, tmp_path, monkeypatch):
    """八代市's admin, signed in with `renkei login`, sees the terms to accept, reads the text (its version and
    hash) and accepts it; the catalogue then gives 八代市 the dataset's distributions."""
    from catalogue import catalogue
    from tests.datasets.conftest import YATSUSHIRO_ADMIN

    monkeypatch.setenv("RENKEI_CLI_SESSION", str(tmp_path / "session.json"))
    for name in ("RENKEI_CLI_CLIENT_ID", "RENKEI_CLI_CLIENT_SECRET", "RENKEI_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    account, _ = user_factory(("municipal-admin",), "432024", fresh=True)
    signed = app.test_cli_runner().invoke(args=["login", "--password", "--username", account.username],
                                          env={"RENKEI_CLI_PASSWORD": PASSWORD})
    assert signed.exit_code == 0, signed.output

    pending = run(app, "terms", "pending", person=None)
    assert pending.exit_code == 0, pending.output
    [line] = pending.stdout.splitlines()
    assert line.startswith(f"{ACCIDENTS}\t交通事故統計情報\t未同意 / to accept\t第1版\t")
    shown = run(app, "terms", "show", ACCIDENTS, person=None)  # not its provider: the consumer's view
    assert shown.exit_code == 0, shown.output
    content_hash = shown.stdout.splitlines()[0].split("content_hash: ")[1].split()[0]
    assert content_hash == line.split("\t")[-1]
    wrong = run(app, "terms", "accept", ACCIDENTS, "--version", "1", "--content-hash", "0" * 64, person=None)
    assert wrong.exit_code == 1 and "ハッシュ値が異なります" in wrong.output
    accepted = run(app, "terms", "accept", ACCIDENTS, "--version", "1", "--content-hash", content_hash, person=None)
    assert accepted.exit_code == 0 and accepted.stdout.strip() == "432024: 第1版に同意しました / accepted version 1"
    assert "同意済 / accepted" in run(app, "terms", "pending", person=None).stdout
    db.expire_all()
    assert not catalogue.search(db, YATSUSHIRO_ADMIN, fq=f"name:{ACCIDENTS}").entries[0].withheld
    assert actions(db, "dataset.terms.accept") == [("dataset.terms.accept", catalogue.search(
        db, YATSUSHIRO_ADMIN, fq=f"name:{ACCIDENTS}").entries[0].dataset.uid, account.id)]
    assert app.test_cli_runner().invoke(args=["logout"]).exit_code == 0
