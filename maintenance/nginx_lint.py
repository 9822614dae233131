"""`renkei gateway lint FILE`: what an nginx config's auth location lacks for renkei's gateway check
(docs/gateway.md): `proxy_pass_request_headers off`, each header the check reads set by nginx itself,
and timeouts of a few seconds on the check. A location that passes gets its recipe hash
(:func:`recipe_hash`), which binds the gateway's credential to it (``X-Renkei-Recipe``,
``RENKEI_GATEWAY_RECIPES``). A small parser of nginx's syntax: directives, blocks, quotes, comments,
and `include` (relative to the including file, globs allowed)."""

from __future__ import annotations

import glob
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from tenancy.identity.gateway import RECIPE_HEADER

# the headers the check reads, and what the recipe sets each to
REQUIRED = {"Authorization": '"Basic GATEWAY_CREDENTIAL"', "X-Original-Method": "$request_method",
            "X-Original-URI": "$request_uri", "X-Original-Remote-Addr": "$remote_addr",
            "X-Original-Authorization": "$http_authorization",
            # which dataset a call to the context broker uses (issue 37, catalogue/routes.py)
            "X-Original-Fiware-Service": "$http_fiware_service",
            "X-Original-Fiware-ServicePath": "$http_fiware_servicepath"}


# the timeouts of the check: nginx's default (60 s) would hold a consumer that long behind a hung renkei
TIMEOUTS = {"proxy_connect_timeout": "2s", "proxy_read_timeout": "5s"}
MAX_TIMEOUT_SECONDS = 10
_TIME = re.compile(r"(\d+)(ms|s|m|h)?")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


class LintError(ValueError):
    """The file cannot be read as an nginx config."""


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list["Directive"] | None = None
    children: list["Directive"] = field(default_factory=list)


def tokens(text: str, source: str):
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            yield c, False
            i += 1
        elif c in "'\"":
            j, out = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            if j >= n:
                raise LintError(f"{source}: a quote is not closed")
            yield "".join(out), True
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};#'\"":
                j += 1
            yield text[i:j], True
            i = j


def parse(path: Path, depth: int = 0) -> list[Directive]:
    if depth > 20:
        raise LintError(f"{path}: includes nested too deeply")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LintError(f"{path}: cannot be read ({error})") from None
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token, is_word in tokens(text, str(path)):
        if is_word:
            words.append(token)
        elif token == ";":
            if not words:
                continue
            directive = Directive(words[0], words[1:])
            if directive.name == "include" and directive.args:
                pattern = directive.args[0]
                base = pattern if Path(pattern).is_absolute() else str(path.parent / pattern)
                for included in sorted(glob.glob(base)):
                    stack[-1].extend(parse(Path(included), depth + 1))
            else:
                stack[-1].append(directive)
            words = []
        elif token == "{":
            if not words:
                raise LintError(f"{path}: a block without a name")
            directive = Directive(words[0], words[1:], block=[])
            stack[-1].append(directive)
            stack.append(directive.block)
            words = []
        else:
            if len(stack) == 1 or words:
                raise LintError(f"{path}: an unexpected '}}'")
            stack.pop()
    if len(stack) != 1 or words:
        raise LintError(f"{path}: a block or directive is not closed")
    return stack[0]


def _walk(directives, parents=()):
    for directive in directives:
        yield directive, parents
        if directive.block is not None:
            yield from _walk(directive.block, (*parents, directive))


def _set_headers(block: list[Directive]) -> dict[str, str]:
    return {d.args[0].lower(): " ".join(d.args[1:]) for d in block if d.name == "proxy_set_header" and d.args}


@dataclass
class Report:
    problems: list[str]
    hashes: list[tuple[str, str, str | None]]  # each passing auth location: (target, its hash, what it sends)


def lint(path: Path) -> list[str]:
    """Each problem in words; empty when every auth location passes only the headers it sets."""
    return report(path).problems


def report(path: Path) -> Report:
    tree = parse(path)
    targets = {d.args[0] for d, _ in _walk(tree) if d.name == "auth_request" and d.args and d.args[0] != "off"}
    if not targets:
        return Report([f"{path}: no auth_request: nothing asks renkei's gateway check"], [])
    problems, hashes = [], []
    for target in sorted(targets):
        found = [(d, parents) for d, parents in _walk(tree)
                 if d.name == "location" and d.block is not None and d.args and d.args[-1] == target]
        if not found:
            problems.append(f"auth location {target}: not found in {path}")
        for location, parents in found:
            own = _lint_location(target, location, parents)
            problems.extend(own)
            if not own:
                hashes.append((target, recipe_hash(location), _set_headers(location.block).get(RECIPE_HEADER.lower())))
    for target, digest, sent in hashes:
        if sent is not None and sent != digest:
            problems.append(f"auth location {target}: {RECIPE_HEADER} is {sent}, but this location's recipe hash is "
                            f"{digest}: it changed since it passed the lint. Set 'proxy_set_header {RECIPE_HEADER} "
                            f"{digest};' and register {digest} for the gateway's credential (RENKEI_GATEWAY_RECIPES).")
    return Report(problems, hashes if not problems else [])


def recipe_hash(location: Directive) -> str:
    """The auth location as nginx runs it (every directive and argument in order, its own
    ``X-Renkei-Recipe`` line left out; comments, spacing and quoting do not count), hashed. The
    gateway's credential is part of it, so no one without the secret can compute it."""
    lines = ["\x1f".join((d.name, *d.args)) for d in location.block
             if d.block is None and not (d.name == "proxy_set_header" and d.args and d.args[0].lower() == RECIPE_HEADER.lower())]
    return hashlib.sha256("\x1e".join(lines).encode()).hexdigest()[:32]


def _seconds(value: str) -> float | None:
    match = _TIME.fullmatch(value)
    return None if match is None else int(match.group(1)) * _UNIT[match.group(2)]


def _lint_location(target: str, location: Directive, parents) -> list[str]:
    own = _set_headers(location.block)
    inherited = {}
    for parent in parents:  # nginx inherits proxy_set_header only into a level that sets none itself
        inherited = _set_headers(parent.block) or inherited
    headers = own or inherited
    problems = []
    off = any(d.name == "proxy_pass_request_headers" and d.args == ["off"] for d in location.block)
    if not off:
        problems.append(f"auth location {target}: 'proxy_pass_request_headers off;' is missing: nginx copies the "
                        "consumer's own headers into the check, so a consumer can send X-Original-* itself. "
                        "Add it, then set each header below.")
    for name, value in REQUIRED.items():
        if name.lower() not in headers:
            problems.append(f"auth location {target}: {name} is not set: add 'proxy_set_header {name} {value};'")
        elif name != "Authorization" and headers[name.lower()] != value and "$http_" in headers[name.lower()]:
            problems.append(f"auth location {target}: {name} is set from a header of the consumer's "
                            f"({headers[name.lower()]}): set it to what nginx knows, 'proxy_set_header {name} {value};'")
    for name, value in TIMEOUTS.items():  # inherited from the levels above like any proxy_* setting
        setting = next((d.args for level in (location, *reversed(parents)) for d in level.block
                        if d.name == name and d.block is None), None)
        seconds = _seconds(setting[0]) if setting and len(setting) == 1 else None
        if setting is None or seconds is None or seconds > MAX_TIMEOUT_SECONDS:
            problems.append(f"auth location {target}: {name} is {'not set (60s)' if setting is None else ' '.join(setting)}: "
                            f"a hung renkei would hold every call that long; add '{name} {value};' "
                            f"(at most {MAX_TIMEOUT_SECONDS}s; nginx then answers 503 at once)")
    return problems
