"""The layers of the packages, checked on every import, third-party ones included.

core/ (the kernel) is below tenancy/, catalogue/ and usage/, which are below billing/ and governance/ (which do
not know each other); admin/ (the only web shell, the only Flask user) is on top, beside bench/ and scripts/ (the
tools, which nothing imports). core/ and the domain packages import no web framework (Flask, its
extensions, werkzeug, Jinja); only the package tenancy/identity/keycloak/ imports the Keycloak client. No two
modules import each other, not even through an import inside a function.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# --- Layering -------------------------------------------------------------------------------------
#
# The checker reads every importable module under the layered packages with ``ast`` and records
# every import it finds anywhere in the file: at the top, inside functions, under ``if`` blocks,
# and ``importlib.import_module("...")`` calls with a literal name. It takes the root as an
# argument so that the tests below can also run it on a tiny synthetic tree and see each rule fail.

LAYERED_PACKAGES = ("core", "tenancy", "catalogue", "usage", "billing", "governance", "secretariat", "service",
                    "competition", "residents",
                    "maintenance", "admin", "bench", "scripts")
KERNEL = "core"
DOMAIN_PACKAGES = ("tenancy", "catalogue", "usage", "billing", "governance", "secretariat", "service", "competition",
                   "residents")
# Running renkei (backup, restore, check, database roles, a local Keycloak): above the domains, below admin/.
MAINTENANCE = "maintenance"
TOOLS = ("bench", "scripts")  # on top beside admin/: they may use anything, nothing imports them
LOOSE = ("scripts",)  # folders of scripts run by path: every file is read, with or without __init__.py
# Domain packages that must not know each other (either direction).
SEPARATED = (("billing", "governance"), ("billing", "residents"))
# tenancy (registry, identity, onboarding, members) is what billing and governance build on: it never imports them.
# service/ (running the platform) builds on tenancy, governance (its notices) and residents (the linkage records of
# its monthly report): tenancy and governance never import it, nor billing.
# residents/ (issue 42) builds on governance (its errors, the agreements' text hashing) and holds the consent
# records (residents/consent/: the services, the assurance levels, the check); governance never imports it.
# catalogue/ (the dataset register, its standards, terms, DCAT and CKAN's read model) stands beside tenancy: each reads
# the other (a dataset's provider is a tenant; the gateway routes and counts calls by dataset), and neither knows
# the jobs above them.
# usage/ (the usage meter: events, aggregates, quotas, the gateway's counted calls, use by dataset) stands beside
# them too: it counts a tenant's and a client's use and the calls that reached a dataset, tenancy's identity and
# onboarding ask its quotas and plans, the catalogue asks when a dataset was last used; none of the three knows the
# jobs above them.
BELOW = {"tenancy": ("billing", "governance", "secretariat", "service", "competition", "residents"),
         "catalogue": ("billing", "governance", "secretariat", "service", "competition", "residents"),
         "usage": ("billing", "governance", "secretariat", "service", "competition", "residents"),
         "governance": ("service", "residents"), "billing": ("service",)}
WEB = ("flask", "werkzeug", "jinja2")  # top-level names starting with these: the web framework (flask_admin, ...)
KEYCLOAK_CLIENT = "keycloak"  # python-keycloak's top-level package
KEYCLOAK_HOME = "tenancy.identity.keycloak"  # the one package that talks to Keycloak


@dataclass(frozen=True)
class ImportSite:
    path: str  # file, relative to the root
    line: int
    module: str  # the importing module
    target: str  # the module it imports (resolved; the dotted name as written if outside the tree)
    statement: str  # the import as written, for the failure message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.statement}"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path, packages=LAYERED_PACKAGES) -> dict[str, Path]:
    """Module name -> file, for every importable module (every folder on the way has an __init__).

    Folders without ``__init__.py`` (for example ``admin/migrations``, whose scripts Alembic loads
    by file path) are not importable and are left out.
    """
    modules = {}
    for package in packages:
        base = root / package
        for path in sorted(base.rglob("*.py")):
            folders = path.relative_to(base).parents
            if package in LOOSE or all((base / folder / "__init__.py").is_file() for folder in folders):
                modules[_module_name(root, path)] = path
    return modules


def _literal_import_call(node: ast.Call) -> str | None:
    """The module named by ``importlib.import_module("x")`` / ``import_module("x")`` / ``__import__("x")``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in ("import_module", "__import__") or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not arg.value.startswith("."):
        return arg.value
    return None


def _resolve(name: str, modules) -> str:
    """The longest prefix of a dotted name that is a module of the tree (else the name itself)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return name


def _as(alias: ast.alias) -> str:
    return f" as {alias.asname}" if alias.asname else ""


def find_imports(root: Path, packages=LAYERED_PACKAGES) -> list[ImportSite]:
    modules = find_modules(root, packages)
    sites = []
    for module, path in modules.items():
        relative = str(path.relative_to(root))
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text("utf-8"), filename=relative)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    sites.append(ImportSite(relative, node.lineno, module, _resolve(alias.name, modules),
                                            f"import {alias.name}{_as(alias)}"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    source = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                written = "." * node.level + (node.module or "")
                for alias in node.names:
                    # ``from pkg import mod`` imports the module pkg.mod; ``from pkg.mod import name`` pkg.mod.
                    submodule = f"{source}.{alias.name}"
                    target = submodule if submodule in modules else _resolve(source, modules)
                    sites.append(ImportSite(relative, node.lineno, module, target,
                                            f"from {written} import {alias.name}{_as(alias)}"))
            elif isinstance(node, ast.Call):
                name = _literal_import_call(node)
                if name:
                    sites.append(ImportSite(relative, node.lineno, module, _resolve(name, modules),
                                            f"{ast.unparse(node.func)}({name!r})"))
    return sites


def _top(name: str) -> str:
    return name.split(".")[0]


def _inside(module: str, package: str) -> bool:
    """``module`` is ``package`` or one of its modules."""
    return module == package or module.startswith(package + ".")


def layering_violations(root: Path, packages=LAYERED_PACKAGES) -> list[str]:
    """Every import that crosses a layer the wrong way, as ``file:line: import  (rule)``."""
    problems = []
    for site in find_imports(root, packages):
        source, target = _top(site.module), _top(site.target)
        if source == target:
            continue
        web = target.startswith(WEB)
        if target == KEYCLOAK_CLIENT and not _inside(site.module, KEYCLOAK_HOME):
            problems.append(f"{site}  (only {KEYCLOAK_HOME.replace('.', '/')}/ imports the Keycloak client)")
        elif target in TOOLS and source not in TOOLS:
            problems.append(f"{site}  ({target}/ is a tool: nothing of the product imports it)")
        elif source == KERNEL and (target in DOMAIN_PACKAGES or target == "admin" or web):
            problems.append(f"{site}  (the kernel core/ imports no domain package, admin or web framework)")
        elif source in DOMAIN_PACKAGES and (target == "admin" or web):
            problems.append(f"{site}  (domain package {source}/ never imports admin or a web framework)")
        elif source == MAINTENANCE and (target == "admin" or web):
            problems.append(f"{site}  ({MAINTENANCE}/ is below the shell: it imports no admin or web framework)")
        elif target == MAINTENANCE and (source == KERNEL or source in DOMAIN_PACKAGES):
            problems.append(f"{site}  ({source}/ is below {MAINTENANCE}/ and never imports it)")
        elif any({source, target} == set(pair) for pair in SEPARATED):
            problems.append(f"{site}  ({source}/ and {target}/ do not import each other)")
        elif target in BELOW.get(source, ()):
            problems.append(f"{site}  ({source}/ is below {target}/ and never imports it)")
    return problems


def _strongly_connected(modules, edges: dict[str, dict[str, ImportSite]]) -> list[set[str]]:
    """The groups of more than one module that import each other (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)

    for start in modules:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        visit(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    visit(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while (member := stack.pop()) != node:
                    on_stack.discard(member)
                    component.add(member)
                on_stack.discard(node)
                component.add(node)
                if len(component) > 1:
                    components.append(component)
    return components


def _shortest_cycle(first: str, component: set[str], edges: dict[str, dict[str, ImportSite]]) -> list[str]:
    """The shortest cycle from ``first`` back to itself inside ``component`` (breadth-first)."""
    paths = {first: [first]}
    queue = [first]
    while queue:
        node = queue.pop(0)
        for child in sorted(edges[node]):
            if child == first:
                return paths[node] + [first]
            if child in component and child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    raise AssertionError(f"{first} is in no cycle of its group")


def import_cycles(root: Path, packages=LAYERED_PACKAGES) -> list[str]:
    """One message per group of modules that import each other, naming a cycle and its imports."""
    modules = find_modules(root, packages)
    edges: dict[str, dict[str, ImportSite]] = {module: {} for module in modules}
    for site in find_imports(root, packages):
        if site.target in modules and site.target != site.module:
            edges[site.module].setdefault(site.target, site)

    def describe(cycle: list[str]) -> str:
        steps = "\n".join(f"    {edges[a][b]}" for a, b in zip(cycle, cycle[1:]))
        return f"import cycle {' -> '.join(cycle)}:\n{steps}"

    messages = []
    for component in _strongly_connected(modules, edges):
        # Every pair of modules that import each other directly, and the shortest cycle through the
        # group's first module.
        cycles = [[a, b, a] for a in sorted(component) for b in sorted(edges[a]) if a < b and a in edges[b]]
        shortest = _shortest_cycle(min(component), component, edges)
        if len(shortest) > 3 or not cycles:
            cycles.append(shortest)
        named = {module for cycle in cycles for module in cycle}
        others = sorted(component - named)
        also = f"\n    (in the same group of modules that import each other: {', '.join(others)})" if others else ""
        messages.append("\n".join(describe(cycle) for cycle in cycles) + also)
    return messages


def test_layering_of_the_packages():
    violations = layering_violations(ROOT)
    assert not violations, "imports that cross a layer the wrong way:\n" + "\n".join(violations)


def test_no_import_cycles_between_modules():
    cycles = import_cycles(ROOT)
    assert not cycles, "modules that import each other (import at the top, move the shared piece to its owner, or pass it in):\n" + "\n".join(cycles)


# The checker itself, on a tiny tree built in tmp_path: each rule can fail.

def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    for package in LAYERED_PACKAGES:
        (root / package).mkdir(exist_ok=True)
        if package not in LOOSE:
            (root / package / "__init__.py").touch()
    return root


def test_checker_accepts_a_clean_tree(tmp_path):
    root = _tree(tmp_path, {
        "core/errors.py": "import sqlalchemy\n",
        "tenancy/ops.py": "from core import errors\nfrom core.errors import X\n",
        "billing/ops.py": "from tenancy import ops\n\ndef f():\n    import core.errors\n",
        "governance/ops.py": "from tenancy.ops import create\nfrom usage.ops import count\n",
        "usage/ops.py": "from tenancy.ops import create\nfrom core import errors\n",
        "admin/views.py": "import flask\nfrom billing import ops\nfrom governance.ops import y\nfrom maintenance import archive\n",
        "maintenance/archive.py": "from governance.ops import y\nfrom billing import ops\nfrom core import errors\n",
        "admin/migrations/env.py": "from admin import views\n",  # not a package: ignored
        "tenancy/identity/__init__.py": "",
        "tenancy/identity/keycloak/__init__.py": "from tenancy.identity.keycloak.realm import x\n",
        "tenancy/identity/keycloak/realm.py": "import keycloak\nfrom keycloak.exceptions import KeycloakError\n",
        "bench/run.py": "import flask\nfrom werkzeug.test import EnvironBuilder\nfrom admin import views\n",
        "scripts/tool.py": "from bench import run\n",
    })
    assert layering_violations(root) == []
    assert import_cycles(root) == []


@pytest.mark.parametrize(("path", "line"), [
    ("core/errors.py", "from tenancy import ops"),
    ("core/errors.py", "import billing.ops"),
    ("core/errors.py", "from flask import g"),
    ("core/errors.py", "import admin.views"),
    ("tenancy/ops.py", "from admin.views import thing"),
    ("billing/ops.py", "import flask_admin"),
    ("governance/ops.py", "from admin import views"),
    ("billing/ops.py", "from governance.ops import y"),
    ("governance/ops.py", "import billing"),
    ("tenancy/ops.py", "from governance import ops"),
    ("tenancy/ops.py", "import billing.ops"),
    # service/ (issue 39) sits above tenancy and governance, below maintenance and the shell
    ("governance/ops.py", "from service import ops"),
    ("tenancy/ops.py", "import service.ops"),
    ("service/ops.py", "from flask import current_app"),
    ("service/ops.py", "from admin.extensions import db"),
    ("service/ops.py", "from maintenance import archive"),
    # usage/ (the usage meter, issue 53) sits beside tenancy: below the jobs, above the kernel, free of the web
    ("usage/ops.py", "from billing import ops"),
    ("usage/ops.py", "import governance.ops"),
    ("usage/ops.py", "from flask import g"),
    ("usage/ops.py", "from admin.extensions import db"),
    ("core/errors.py", "from usage import ops"),
    # third-party imports (issue 24): the web framework below admin/, the Keycloak client outside its module
    ("billing/ops.py", "import werkzeug"),
    ("core/errors.py", "from werkzeug.exceptions import NotFound"),
    ("governance/ops.py", "import jinja2"),
    ("tenancy/ops.py", "from flask_babel import gettext"),
    ("core/errors.py", "import keycloak"),
    ("admin/views.py", "from keycloak import KeycloakAdmin"),
    ("billing/ops.py", "from keycloak.exceptions import KeycloakError"),
    ("bench/run.py", "import keycloak.openid_connection"),
    ("scripts/tool.py", "from keycloak import KeycloakOpenID"),
    # maintenance/ (issue 24, Build 5) sits between the domains and the shell
    ("maintenance/archive.py", "from flask import current_app"),
    ("maintenance/archive.py", "from admin.extensions import db"),
    ("billing/ops.py", "from maintenance import archive"),
    ("core/errors.py", "import maintenance.archive"),
    ("tenancy/identity/keycloak_tools.py", "import keycloak"),  # a name that only starts like the package
    # the tools sit on top: the product never imports them
    ("admin/views.py", "from bench import common"),
    ("core/errors.py", "import scripts.tool"),
])
def test_checker_names_the_file_and_import_that_cross_a_layer(tmp_path, path, line):
    root = _tree(tmp_path, {
        "tenancy/ops.py": "", "billing/ops.py": "", "governance/ops.py": "", "admin/views.py": "",
        "core/errors.py": "", "tenancy/identity/__init__.py": "", "maintenance/archive.py": "", "service/ops.py": "",
        "usage/ops.py": "",
    })
    (root / path).write_text(f"import os\n\n\ndef later():\n    {line}\n", "utf-8")
    violations = layering_violations(root)
    assert len(violations) == 1
    assert violations[0].startswith(f"{path}:5: {line}")


def test_checker_reads_every_name_of_one_import_statement(tmp_path):
    root = _tree(tmp_path, {"core/errors.py": "import os, keycloak\nimport json, werkzeug.http as http\n"})
    assert layering_violations(root) == [
        "core/errors.py:1: import keycloak  (only tenancy/identity/keycloak/ imports the Keycloak client)",
        "core/errors.py:2: import werkzeug.http as http  (the kernel core/ imports no domain package, admin or web "
        "framework)",
    ]


def test_checker_counts_import_module_calls_with_a_literal_name(tmp_path):
    root = _tree(tmp_path, {
        "governance/ops.py": "import importlib\n\ndef f():\n    return importlib.import_module('billing.ops')\n",
        "billing/ops.py": "",
    })
    assert layering_violations(root) == [
        "governance/ops.py:4: importlib.import_module('billing.ops')  (governance/ and billing/ do not import each other)"
    ]


@pytest.mark.parametrize("quotas_imports", [
    "from usage.metering import level",  # from module import name
    "from usage import metering",  # from package import module
    "import usage.metering as m",
    "from . import metering",  # relative
    "from .metering import level",
])
def test_checker_finds_a_cycle_hidden_in_a_function(tmp_path, quotas_imports):
    root = _tree(tmp_path, {
        "usage/__init__.py": "",
        "usage/metering.py": "from usage.quotas import check\n",
        "usage/quotas.py": f"def check():\n    {quotas_imports}\n",
    })
    [message] = import_cycles(root)
    assert message.splitlines()[0] == "import cycle usage.metering -> usage.quotas -> usage.metering:"
    assert "usage/metering.py:1: from usage.quotas import check" in message
    assert f"usage/quotas.py:2: {quotas_imports}" in message


def test_checker_finds_a_longer_cycle_through_a_package_init(tmp_path):
    root = _tree(tmp_path, {
        "admin/__init__.py": "from admin.views import register\n",
        "admin/views.py": "from admin.api import blueprint\n",
        "admin/api.py": "def f():\n    import importlib\n    importlib.import_module('admin')\n",
    })
    [message] = import_cycles(root)
    assert message.splitlines()[0] == "import cycle admin -> admin.views -> admin.api -> admin:"
    assert "admin/api.py:3: importlib.import_module('admin')" in message


def test_checker_names_every_pair_that_imports_each_other_in_a_group(tmp_path):
    root = _tree(tmp_path, {
        "billing/operations.py": "from billing.statements import x\nfrom tenancy.ops import y\n",
        "billing/statements.py": "def f():\n    from billing.operations import z\n",
        "tenancy/ops.py": "def g():\n    import billing.operations\n",
    })
    [message] = import_cycles(root)
    assert "import cycle billing.operations -> billing.statements -> billing.operations:" in message
    assert "import cycle billing.operations -> tenancy.ops -> billing.operations:" in message
    assert "tenancy/ops.py:2: import billing.operations" in message


# --- The web shell sorted by job (issue 53) --------------------------------------------------------
#
# admin/'s top holds the shell's own modules only; every other module lives in the package of the job it
# serves. Inside admin/api/ and admin/views/ (and their sub-packages) no module takes another's helpers: what
# two of them share lives in a named shared module of their package, and the pages never import the API.

# The shell's own modules at admin/'s top: the app factory (__init__), configuration, the API's edge, sign-in,
# problems, languages, the composition root, the command line's entry, the jobs table, the menu, the identity directory, the
# proxies believed, the security headers, the request log, downloads named in two languages, the demo's mail
# catcher, Keycloak's admin events, the residents' key ring (read by the desk, the portal, the API and the commands).
ADMIN_SHELL = frozenset({"__init__", "config", "edge", "auth", "problems", "i18n", "wiring", "cli", "jobs", "menu", "identity",
                         "proxies", "security_headers", "static_files", "request_log", "downloads", "devmail", "admin_events",
                         "extensions", "resident_keys"})
# The jobs' packages: the REST API, the admin pages, the commands, the residents' portal, the published catalogue
# (CKAN, the DCAT pages, the standards' schemas), running the service (health, status page, probes, incident
# settings, the gateway's counted calls).
ADMIN_PACKAGES = frozenset({"api", "views", "commands", "portal", "catalogue", "service"})
# Folders that are not packages: Alembic's scripts (loaded by path), templates, static files, message catalogues.
ADMIN_FOLDERS = frozenset({"migrations", "templates", "static", "translations"})


def admin_top_strays(root: Path) -> list[str]:
    """Every module or package at admin/'s top that is neither the shell's own nor a job's package."""
    strays = []
    for path in sorted((root / "admin").iterdir()):
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        if path.is_file() and path.suffix == ".py" and path.stem not in ADMIN_SHELL:
            strays.append(f"admin/{path.name}  (not one of the shell's modules: move it into the package of the job "
                          f"it serves, {', '.join(sorted(ADMIN_PACKAGES))})")
        elif path.is_dir() and (path / "__init__.py").is_file() and path.name not in ADMIN_PACKAGES:
            strays.append(f"admin/{path.name}/  (a package that is not one of the jobs' packages: name it in "
                          f"tests/test_layout.py ADMIN_PACKAGES if it is a job of its own)")
        elif path.is_dir() and not (path / "__init__.py").is_file() and path.name not in ADMIN_FOLDERS:
            strays.append(f"admin/{path.name}/  (a folder that is neither a job's package nor one of {sorted(ADMIN_FOLDERS)})")
    return strays


# The packages whose modules do not import each other, each with its named shared modules (the one place its
# modules take shared helpers from; the package's own __init__ is shared too).
SHARED_MODULES = {
    "admin.api": frozenset({"contract", "paging", "fields", "decisions"}),
    "admin.views": frozenset({"base", "paging", "labels", "operator_forms", "times"}),
    "admin.views.billing": frozenset({"forms"}),
}
SIBLING_RULED = ("admin.api", "admin.views")
# The imports between siblings that stay, each with its reason (a new one is refused until it is named here).
KNOWN_SIBLING_IMPORTS = {
    # the prefecture's settings page (/admin/settings/) shows the service settings' form beside the letters' facts
    ("admin.views.documents", "admin.views.service"),
}


def sibling_imports(root: Path, packages=LAYERED_PACKAGES) -> list[str]:
    """Every import by a module of admin/api or admin/views of a sibling's (or a sibling package's) module that is
    not a named shared module, and every import between the pages and the API."""
    problems = []
    for site in find_imports(root, packages):
        source, target = site.module, site.target
        ruled = [package for package in SIBLING_RULED if _inside(source, package) and source != package]
        if not ruled or not target.startswith("admin."):
            continue
        other = [package for package in SIBLING_RULED if _inside(target, package) and package not in ruled]
        if other:
            problems.append(f"{site}  ({ruled[0]} never imports {other[0]}: move what both use to a named shell "
                            f"module)")
            continue
        if (source, target) in KNOWN_SIBLING_IMPORTS:
            continue
        source_parts, target_parts = source.split("."), target.split(".")
        for depth in range(2, len(source_parts)):
            package = ".".join(source_parts[:depth])
            if not _inside(package, ruled[0]) or not _inside(target, package) or target == package:
                continue
            own, theirs = source_parts[depth], target_parts[depth]
            if own != theirs and theirs not in SHARED_MODULES.get(package, ()):
                problems.append(f"{site}  ({source} takes {package}.{theirs}'s helpers: move them to a named shared "
                                f"module of {package} ({', '.join(sorted(SHARED_MODULES.get(package, ()))) or 'none yet'})"
                                f")")
                break
    return problems


def test_admin_top_holds_the_shell_only():
    strays = admin_top_strays(ROOT)
    assert not strays, "admin/'s top holds the shell's own modules and the jobs' packages only:\n" + "\n".join(strays)


def test_no_api_or_view_module_imports_a_siblings_helpers():
    problems = sibling_imports(ROOT)
    assert not problems, "modules of admin/api and admin/views that import each other:\n" + "\n".join(problems)


def test_the_named_shared_modules_and_known_sibling_imports_exist():
    modules = find_modules(ROOT)
    for package, shared in SHARED_MODULES.items():
        assert package in modules, package
        assert {f"{package}.{name}" for name in shared} <= set(modules), package
    for pair in KNOWN_SIBLING_IMPORTS:
        assert set(pair) <= set(modules), pair
    assert {f"admin.{name}" for name in ADMIN_SHELL - {"__init__"}} <= set(modules)
    assert {f"admin.{name}" for name in ADMIN_PACKAGES} <= set(modules)


def _admin_tree(root: Path, files: dict[str, str]) -> Path:
    base = {"admin/__init__.py": "", "admin/config.py": "", "admin/api/__init__.py": "", "admin/api/contract.py": "",
            "admin/api/tenants.py": "", "admin/api/usage.py": "", "admin/views/__init__.py": "",
            "admin/views/base.py": "", "admin/views/tenants.py": "", "admin/views/billing/__init__.py": "",
            "admin/views/billing/forms.py": "", "admin/views/billing/bank.py": "", "admin/portal/__init__.py": "",
            "admin/migrations/env.py": "", "admin/templates/renkei/layout.html": ""}
    return _tree(root, {**base, **files})


def test_the_admin_checkers_accept_a_tree_sorted_by_job(tmp_path):
    root = _admin_tree(tmp_path, {
        "admin/api/tenants.py": "from admin.api import API_PREFIX\nfrom admin.api.contract import media\n",
        "admin/views/tenants.py": "from admin.views.base import SecureView\nfrom admin import config\n",
        "admin/views/billing/__init__.py": "from admin.views.billing.bank import BankView\nfrom admin.views import base\n",
        "admin/views/billing/bank.py": "from admin.views.billing.forms import REQUIRED\nfrom admin.views.base import x\n",
    })
    assert admin_top_strays(root) == []
    assert sibling_imports(root) == []


@pytest.mark.parametrize(("name", "expected"), [
    ("admin/ckan.py", "admin/ckan.py  (not one of the shell's modules"),
    ("admin/newjob/__init__.py", "admin/newjob/  (a package that is not one of the jobs' packages"),
    ("admin/scripts/run.py", "admin/scripts/  (a folder that is neither a job's package"),
])
def test_the_checker_refuses_a_module_placed_at_admins_top(tmp_path, name, expected):
    root = _admin_tree(tmp_path, {name: ""})
    [stray] = admin_top_strays(root)
    assert stray.startswith(expected)


@pytest.mark.parametrize(("path", "line", "rule"), [
    ("admin/api/usage.py", "from admin.api.tenants import helper", "takes admin.api.tenants's helpers"),
    ("admin/api/usage.py", "import admin.api.tenants", "takes admin.api.tenants's helpers"),
    ("admin/views/tenants.py", "from admin.api.contract import XLSX", "admin.views never imports admin.api"),
    ("admin/api/usage.py", "from admin.views.base import x", "admin.api never imports admin.views"),
    ("admin/views/tenants.py", "from admin.views.billing.forms import REQUIRED", "takes admin.views.billing's helpers"),
    ("admin/views/tenants.py", "from admin.views import billing", "takes admin.views.billing's helpers"),
    ("admin/views/billing/bank.py", "from admin.views.tenants import x", "takes admin.views.tenants's helpers"),
    ("admin/views/billing/forms.py", "from admin.views.billing.bank import x", "takes admin.views.billing.bank's helpers"),
])
def test_the_checker_refuses_a_siblings_helpers(tmp_path, path, line, rule):
    root = _admin_tree(tmp_path, {path: f"import os\n\n\ndef later():\n    {line}\n"})
    [problem] = sibling_imports(root)
    assert problem.startswith(f"{path}:5: {line}  (")
    assert rule in problem
