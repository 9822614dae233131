"""`renkei --help` starts light: it lists every command without importing the app's libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("sqlalchemy", "flask_admin", "matplotlib", "openpyxl", "keycloak", "flask_openapi3", "billing.models",
         "tenancy.registry.models")


def _fresh(code: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}  # production mode, no secret key
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_help_lists_every_command_without_importing_the_app_libraries(tmp_path):
    code = (
        "import json, sys\n"
        "from admin.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as stop:\n"
        f"    loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "    print(json.dumps({'exit': stop.code, 'loaded': loaded}))\n"
    )
    result = _fresh(code, tmp_path)
    assert result.returncode == 0, result.stderr
    help_text, report = result.stdout.rsplit("\n", 2)[0], json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"exit": 0, "loaded": []}
    for command in ("audit", "billing", "db", "demo", "keycloak", "onboarding", "run", "shell", "routes", "tenants",
                    "usage"):
        assert f"  {command} " in help_text
    assert not (tmp_path / "var").exists()  # no app was built


def test_the_listed_help_is_each_commands_own():
    from admin.cli import COMMANDS, load_command

    for name, (_, shown) in COMMANDS.items():
        assert load_command(name).get_short_help_str(limit=200) == shown, name


def test_a_group_help_needs_no_app_and_keycloak_status_needs_no_secret_key(tmp_path):
    usage = _fresh("from admin.cli import main; main(['usage', '--help'])", tmp_path)
    assert usage.returncode == 0 and "import" in usage.stdout, usage.stderr
    status = _fresh("from admin.cli import main; main(['keycloak', 'status', '--port', '1'])", tmp_path)
    assert "running=False" in status.stdout and "RENKEI_SECRET_KEY" not in status.stderr
    assert status.returncode == 1  # not running: exit 1, as documented
    assert not (tmp_path / "var").exists()


def test_every_command_group_is_reachable_from_renkei():
    """A group written under admin/commands but missing from the real `renkei` command cannot be run
    by an operator, even though Flask's test runner would find it. A group is reachable when `renkei`
    names it, or when it is a subgroup of one `renkei` names (`renkei datasets licences ...`)."""
    import importlib
    import re
    from pathlib import Path

    import click

    from admin.cli import COMMANDS

    registered = {target.split(":")[0] for target, _ in COMMANDS.values()}

    def subgroups(command) -> set[str]:
        found = set()
        for sub in getattr(command, "commands", {}).values():
            if isinstance(sub, click.Group):
                found |= {sub.callback.__module__} | subgroups(sub)
        return found

    for target, _ in list(COMMANDS.values()):
        module, _, name = target.partition(":")
        if module.startswith("admin.commands."):
            registered |= subgroups(getattr(importlib.import_module(module), name))
    folder = Path(__file__).resolve().parents[2] / "admin" / "commands"
    with_group = {f"admin.commands.{path.stem}" for path in folder.glob("*.py")
                  if re.search(r"^@click\.group\(", path.read_text(encoding="utf-8"), re.MULTILINE)}
    assert with_group - registered == set()
