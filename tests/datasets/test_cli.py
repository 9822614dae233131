"""`renkei datasets`: the register from the server's command line, as the operator runs it."""

from __future__ import annotations

import sqlalchemy as sa

from tests.datasets.test_register import AED_BAD, AED_GOOD

IMPORT = ("提供者コード,識別名,タイトル,説明,分野,ライセンス,更新頻度,最終更新日,担当課,メールアドレス,標準データセット,配布URL,形式\n"
          "431001,kumamoto-aed,AED設置箇所一覧,市内のAED。,医療・福祉,CC-BY-4.0,毎月,2026-11-01,消防局救急課,aed@example.jp,"
          "AED設置箇所一覧,https://data.example.jp/aed.csv,CSV\n")


def run(app, *args):
    return app.test_cli_runner().invoke(args=["datasets", *args, "--as", "unei"])


def test_import_list_check_move_coverage_and_remind_from_the_command_line(app, db, providers, tmp_path):
    from core.audit import AuditRecord

    listing = tmp_path / "datasets.csv"
    listing.write_bytes(IMPORT.encode("cp932"))
    imported = run(app, "import", str(listing))
    assert imported.exit_code == 0, imported.output
    assert "1 件を取り込みました" in imported.output
    listed = run(app, "list", "--provider", "431001")
    assert listed.exit_code == 0 and listed.stdout.startswith("kumamoto-aed\t431001\tAED設置箇所一覧\t下書き\t未確認")

    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_bytes(AED_BAD.encode("cp932"))
    good.write_bytes(AED_GOOD.encode("cp932"))
    refused = run(app, "check", "kumamoto-aed", str(bad))
    assert refused.exit_code == 1 and "不適合（2 件）" in refused.stdout and "設置位置" in refused.stdout
    # the fixed file is checked on its own until it is said to replace the distribution's (the first file checked)
    alone = run(app, "check", "kumamoto-aed", str(good)).stdout
    assert "このファイルだけを確認しました" in alone and alone.strip().endswith("準拠 / conformant")
    assert run(app, "move", "kumamoto-aed", "submit").exit_code != 0  # the dataset's verdict is still 不適合
    assert run(app, "check", "kumamoto-aed", str(good), "--replaces").stdout.strip().endswith("準拠 / conformant")

    assert run(app, "move", "kumamoto-aed", "submit").stdout.strip() == "kumamoto-aed: 審査待ち"
    assert run(app, "move", "kumamoto-aed", "refuse").exit_code != 0  # a refusal needs its reason
    assert run(app, "move", "kumamoto-aed", "publish").stdout.strip() == "kumamoto-aed: 公開中"
    matrix = tmp_path / "coverage.csv"
    assert run(app, "coverage", "-o", str(matrix)).exit_code == 0
    rows = matrix.read_bytes().decode("utf-8-sig").splitlines()
    assert rows[0].startswith("団体コード,団体名,指定緊急避難場所一覧")
    assert "提供・準拠" in next(row for row in rows if row.startswith("431001"))
    assert "件の督促を送信待ちにしました" in run(app, "remind").stdout
    acts = db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("dataset.%"))).all()
    assert {"dataset.import", "dataset.check", "dataset.submit", "dataset.publish"} <= set(acts)
