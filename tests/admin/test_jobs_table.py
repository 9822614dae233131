"""The jobs table (admin/jobs.py) is the one list of what the shell registers: every domain operations
module has its job, every module it names exists and is named once, and no blueprint, view or command
module of admin/ is left out of it (a new one would otherwise never be served)."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from pathlib import Path

import click
import pytest
from flask import Blueprint
from flask_openapi3 import APIBlueprint

from admin import jobs

REPO = Path(__file__).resolve().parents[2]
# the shell (admin/), the benchmarks and the tests are not domain packages; every other package at the top is
# (core holds no operations: it is the kernel every job shares)
NOT_DOMAIN = ("admin", "bench", "tests")


def _operations_modules() -> set[str]:
    """Every ``<package>/operations.py`` and ``<package>/<sub>/operations.py`` of the domain packages."""
    found = set()
    for package in sorted(REPO.iterdir()):
        if not (package / "__init__.py").is_file() or package.name in NOT_DOMAIN:
            continue
        for path in [package / "operations.py", *package.glob("*/operations.py")]:
            if path.is_file():
                found.add(".".join(path.relative_to(REPO).with_suffix("").parts))
    return found


def _modules_under(package: str) -> list[str]:
    """Every module of ``package`` and its subpackages (the package's own __init__ included)."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        names.append(info.name)
    return names


def _command_modules(job: jobs.Job) -> set[str]:
    return {command.module for command in job.commands if command.module.startswith("admin.")} | set(job.command_parts)


def _named() -> dict[str, list[str]]:
    """Kind -> every module the jobs name for it (one entry per job that names it)."""
    return {
        "operations": [module for job in jobs.JOBS for module in job.operations],
        "models": [module for job in jobs.JOBS for module in job.models],
        "api": [module for job in jobs.JOBS for module in job.api],
        "views": [module for job in jobs.JOBS for module in job.views],
        "blueprints": [target for job in jobs.JOBS for target in job.blueprints],
        "commands": [module for job in jobs.JOBS for module in sorted(_command_modules(job))],
    }


def test_every_domain_operations_module_has_its_job():
    found = _operations_modules()
    assert len(found) >= 9  # the search sees the packages (billing/operations.py, tenancy/registry/operations.py …)
    named = _named()["operations"]
    assert set(named) == found, ("operations modules without a job (add each to the job that serves it in "
                                 "admin/jobs.py): "
                                 f"{sorted(found - set(named))}; named but absent: {sorted(set(named) - found)}")


@pytest.mark.parametrize("kind", ["operations", "models", "api", "views", "blueprints", "commands"])
def test_every_module_the_jobs_name_exists_and_is_named_once(kind):
    named = _named()[kind]
    twice = sorted(module for module, count in Counter(named).items() if count > 1)
    assert twice == [], f"{kind} named by more than one job: {twice}"
    for name in named:
        module, _, attribute = name.partition(":")
        if attribute:
            assert getattr(importlib.import_module(module), attribute, None) is not None, name
        else:
            importlib.import_module(module)


def test_the_jobs_and_their_commands_are_named_once():
    keys = [job.key for job in jobs.JOBS]
    assert len(keys) == len(set(keys))
    names = [command.name for command in jobs.commands()]
    assert len(names) == len(set(names))
    targets = [command.target for command in jobs.commands()]
    assert len(targets) == len(set(targets))


def test_each_named_module_is_what_its_place_says():
    for module in _named()["api"]:
        assert hasattr(importlib.import_module(module), "bp"), f"{module}: an API module without its blueprint (bp)"
    for module in _named()["views"]:
        assert callable(getattr(importlib.import_module(module), "views", None)), f"{module}: no views(session)"
    for command in jobs.commands():
        module, attribute = command.target.split(":")
        assert isinstance(getattr(importlib.import_module(module), attribute), click.Command), command.target


def _defines_commands(module) -> bool:
    return any(isinstance(value, click.Command) and getattr(value.callback, "__module__", None) == module.__name__
               for value in vars(module).values())


def test_no_blueprint_view_or_command_module_of_admin_is_left_out_of_the_jobs_table():
    named = _named()
    unnamed = []
    for module_name in _modules_under("admin.api"):
        module = importlib.import_module(module_name)
        if "bp" in vars(module) and module_name not in named["api"]:
            unnamed.append(module_name)
    for module_name in _modules_under("admin.views"):
        module = importlib.import_module(module_name)
        views = vars(module).get("views")
        if callable(views) and views.__module__ == module_name and module_name not in named["views"]:
            unnamed.append(module_name)
    for module_name in _modules_under("admin.commands"):
        if _defines_commands(importlib.import_module(module_name)) and module_name not in named["commands"]:
            unnamed.append(module_name)
    assert unnamed == [], f"modules no job names (give each its job in admin/jobs.py): {unnamed}"


# Flask blueprints of admin/ that no job names: the shell's own, registered by the app factory
FACTORY_OWN = {
    "admin.auth:bp": "sign-in and out, registered by auth.init_app",
    "admin.devmail:blueprint": "the demo's caught mail, in development only",
    "admin.portal.blueprint:bp": "the portal's, registered with its route modules by admin.portal.door:init_app",
}


def test_no_page_blueprint_of_admin_is_left_out_of_the_jobs_table():
    """Every Flask blueprint of admin/ beside the REST API's is a job's page (or the factory's own)."""
    named = set(_named()["blueprints"]) | set(FACTORY_OWN)
    found = set()
    for module_name in _modules_under("admin"):
        for attribute, value in vars(importlib.import_module(module_name)).items():
            page = isinstance(value, Blueprint) and not isinstance(value, APIBlueprint)
            if page and value.import_name == module_name:
                found.add(f"{module_name}:{attribute}")
    assert len(found) >= 10  # the walk sees them (/join, /healthz, /status, the CKAN API …)
    unnamed = sorted(found - named)
    assert unnamed == [], f"blueprints no job names (give each its job in admin/jobs.py): {unnamed}"
    assert {target for target in named if not target.endswith(":init_app")} <= found


def test_each_jobs_menu_pages_are_in_a_section_of_the_menu():
    from admin import menu

    sections = {key for key, _label in menu.SECTION_LABELS}
    for job in jobs.JOBS:
        for key, endpoints in job.menu:
            assert key in sections, f"{job.key}: no menu section {key!r} in admin/menu.py"
            assert endpoints, f"{job.key}: an empty place in {key!r}"
    pages = [endpoint for job in jobs.JOBS for _key, endpoints in job.menu for endpoint in endpoints]
    pages += [endpoint for job in jobs.JOBS for endpoint in job.unlisted]
    assert len(pages) == len(set(pages)), "a page placed twice"


def test_the_app_registers_what_the_table_names(app):
    """The API blueprints in the table's order; the admin views of every named view module."""
    from admin import menu

    api = [name for name in app.blueprints if name.startswith("api_")]
    expected = [importlib.import_module(module).bp.name for module in jobs.api_modules()]
    assert api == expected
    registered = {view.endpoint for view in app.extensions["admin"][0]._views}
    placed = {endpoint for key, _label, endpoints in menu.SECTIONS for endpoint in endpoints}
    assert registered == placed | jobs.unlisted()
    for target in jobs.blueprints():
        module, attribute = target.split(":")
        served = getattr(importlib.import_module(module), attribute)
        if isinstance(served, Blueprint):
            assert app.blueprints.get(served.name) is served, target
    in_app = {command.name for command in jobs.commands() if command.in_app}
    assert in_app <= set(app.cli.list_commands(None))
