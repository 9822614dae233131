"""The renkei command: tenant import/export/list as a clerk would run them."""

import json

import sqlalchemy as sa

from tenancy.registry.importing import reference_municipalities
from tenancy.registry.models import Tenant

CODES = ["431001", "432024", "432032", "432041", "432059", "432067", "432083", "432105", "432113", "432121"]
KINDS_JA = {"designated_city": "政令指定都市", "city": "市", "town": "町", "village": "村"}


def japanese_rows(codes):
    ref = reference_municipalities()
    return [f"{c},{ref[c]['name_ja']},{KINDS_JA[ref[c]['kind']]},{ref[c]['population']}" for c in codes]


def test_import_refuses_a_file_with_one_bad_check_digit_and_names_the_line(app, db, tmp_path):
    rows = japanese_rows(CODES)
    rows.insert(4, "432130,宇城市,市,57075".replace("432130", "432131"))
    path = tmp_path / "tenants.csv"
    path.write_bytes(("団体コード,団体名,種別,人口\r\n" + "\r\n".join(rows) + "\r\n").encode("cp932"))
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path)])
    assert result.exit_code == 2
    assert "line 6" in result.output and "432131" in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0


def test_import_then_list_and_export(app, db, tmp_path):
    path = tmp_path / "tenants.csv"
    path.write_bytes(("団体コード,団体名,種別,人口\r\n" + "\r\n".join(japanese_rows(CODES)) + "\r\n").encode("cp932"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "10" in result.output
    listed = json.loads(runner.invoke(args=["tenants", "list", "--json"]).output)
    assert [t["code"] for t in listed] == sorted(CODES)
    out = tmp_path / "export.csv"
    assert runner.invoke(args=["tenants", "export", "--format", "csv", "-o", str(out)]).exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    exported = json.loads(runner.invoke(args=["tenants", "export", "--format", "json"]).output)
    assert {t["code"]: t["population"] for t in exported}["431001"] == 738744


def _renkei(*args, env_overrides=None, cwd=None):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    env.update(env_overrides or {})
    return subprocess.run([sys.executable, "-c", "from admin.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_simulate_needs_no_configuration_or_database(tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "scenario-fy2025.json"
    result = _renkei("billing", "simulate", str(example), "--json", cwd=tmp_path)  # production mode, no secret key
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["total"] == 12_000_000 + 8_400_000 + 6_000_000
    assert sum(line["amount"] for line in body["allocations"]) == body["total"]
    assert not (tmp_path / "var").exists()  # no database was created


def test_a_command_that_needs_the_app_explains_the_missing_secret_without_a_traceback(tmp_path):
    result = _renkei("tenants", "list", cwd=tmp_path)
    assert result.returncode != 0
    assert "RENKEI_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr
