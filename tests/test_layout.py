"""Domain packages hold the rules and never import Flask; admin/ is the only web shell."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["tenancy", "billing", "governance"])
def test_domain_packages_never_import_flask(package):
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0].startswith("flask") or n.split(".")[0] == "admin"]
    assert offenders == []


def test_python_keycloak_is_confined_to_one_module():
    users = []
    for package in ("admin", "tenancy", "billing", "governance"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                    if module and module.split(".")[0] == "keycloak":
                        users.append(str(path.relative_to(ROOT)))
    assert sorted(set(users)) == ["tenancy/identity/keycloak.py"]
