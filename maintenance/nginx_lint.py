"""`renkei gateway lint FILE`: which header renkei's gateway check needs that an nginx config's auth
location does not set (docs/gateway.md). A small parser of nginx's syntax: directives, blocks, quotes,
comments, and `include` (relative to the including file, globs allowed)."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

# the headers the check reads, and what the recipe sets each to
REQUIRED = {"Authorization": '"Basic GATEWAY_CREDENTIAL"', "X-Original-Method": "$request_method",
            "X-Original-URI": "$request_uri", "X-Original-Remote-Addr": "$remote_addr",
            "X-Original-Authorization": "$http_authorization",
            # which dataset a call to the context broker uses (issue 37, tenancy/datasets/routes.py)
            "X-Original-Fiware-Service": "$http_fiware_service",
            "X-Original-Fiware-ServicePath": "$http_fiware_servicepath"}


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


def lint(path: Path) -> list[str]:
    """Each problem in words; empty when every auth location passes only the headers it sets."""
    tree = parse(path)
    targets = {d.args[0] for d, _ in _walk(tree) if d.name == "auth_request" and d.args and d.args[0] != "off"}
    if not targets:
        return [f"{path}: no auth_request: nothing asks renkei's gateway check"]
    problems = []
    for target in sorted(targets):
        found = [(d, parents) for d, parents in _walk(tree)
                 if d.name == "location" and d.block is not None and d.args and d.args[-1] == target]
        if not found:
            problems.append(f"auth location {target}: not found in {path}")
        for location, parents in found:
            problems.extend(_lint_location(target, location, parents))
    return problems


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
    return problems
