"""The Solr query forms CKAN's clients write in ``q`` and ``fq``, read into a small tree.

CKAN hands ``q`` and ``fq`` to Solr; harvesters and scripts written for CKAN use a common part of
Solr's standard query syntax, and this module reads that part: words and ``"quoted phrases"``,
``field:value`` and ``field:"a phrase"``, ``field:(a OR b)``, ``AND``, ``OR``, ``NOT``, ``+`` and
``-`` before a clause, parentheses, ``*:*`` (everything), ``\\`` before a character to take it as
written, and ranges of time on ``metadata_modified`` and ``metadata_created`` (``[low TO high]``,
``{low TO high}``, ISO times, ``NOW`` or ``*``), as harvesters ask for what changed. Clauses side
by side are all required (CKAN's AND of the words, as renkei always read them).

What is not read (wildcards ``*`` and ``?``, other ranges, date math, fuzzy ``~``, boosts ``^``,
``&&``, ``||``, ``!``, a field this catalogue has not) is refused with a
:class:`QueryError` that says what is not supported: never a silent wrong answer. The tree is
compiled to SQL by :func:`catalogue.catalogue.search`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

# the fields a clause may name: CKAN's names (owner_org is organization, text the default field)
FIELDS = ("text", "title", "notes", "name", "id", "organization", "owner_org", "tags", "res_format", "license_id",
          "groups", "dataset_type")
# the fields a range may name (``metadata_modified:[2024-04-01T00:00:00Z TO *]``, as harvesters ask for what changed)
RANGE_FIELDS = ("metadata_modified", "metadata_created")
MAX_CLAUSES = 30
_REFUSED = {"*": "wildcards (*)", "?": "wildcards (?)", "~": "fuzzy or proximity searches (~)", "^": "boosts (^)",
            "[": "ranges ([a TO b])", "]": "ranges ([a TO b])", "{": "ranges ({a TO b})", "}": "ranges ({a TO b})",
            "!": "'!' (write NOT)"}


class QueryError(ValueError):
    """A form of ``q`` or ``fq`` that is not supported, in words (CKAN's Validation Error)."""


@dataclasses.dataclass(frozen=True)
class Term:
    field: str  # one of FIELDS ("text": the words of the titles, keywords and description)
    value: str
    phrase: bool = False


@dataclasses.dataclass(frozen=True)
class Range:
    """``field:[low TO high]`` (both ends kept) or ``{low TO high}`` (both left out); None: open (``*``)."""
    field: str  # one of RANGE_FIELDS
    low: dt.datetime | None
    high: dt.datetime | None
    inclusive: bool = True


@dataclasses.dataclass(frozen=True)
class All:
    """``*:*``: every dataset."""


@dataclasses.dataclass(frozen=True)
class Not:
    clause: Node


@dataclasses.dataclass(frozen=True)
class And:
    clauses: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Or:
    clauses: tuple[Node, ...]


Node = Term | Range | All | Not | And | Or


# --- reading the text into tokens ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "+", "-", "term", "field" (a field before "("), "range"
    value: str = ""
    field: str | None = None
    phrase: bool = False
    range: Range | None = None


def _phrase(text: str, at: int) -> tuple[str, int]:
    """The quoted phrase that starts at ``text[at]`` ('"'), and where it ends."""
    out, i = [], at + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise QueryError("A quotation mark is not closed.")


def _bare(text: str, at: int) -> tuple[str, str | None, int]:
    """A bare word from ``text[at]``: its text, the field it names (``field:``) if any, and where it ends."""
    out, field, i = [], None, at
    while i < len(text) and not text[i].isspace() and text[i] not in '()"':
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char in "[{" and field is not None and not out:
            break  # field:[a TO b]: read by _range
        if char in _REFUSED and not (char == "*" and text.startswith("*:*", at) and i - at in (0, 2)):
            raise QueryError(f"Not supported: {_REFUSED[char]}.")
        if char == ":" and field is None:
            field, out = "".join(out), []
        else:
            out.append(char)
        i += 1
    return "".join(out), field, i


def tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            found.append(_Token(char))
            i += 1
        elif char in "+-" and i + 1 < len(text) and not text[i + 1].isspace():
            found.append(_Token(char))
            i += 1
        elif char == '"':
            value, i = _phrase(text, i)
            found.append(_Token("term", value, phrase=True))
        else:
            token, i = _word(text, i)
            found.append(token)
    return found


def _word(text: str, at: int) -> tuple[_Token, int]:
    """The token of the bare word at ``text[at]`` (with its quoted value, ``field:"…"``), and where it ends."""
    if text.startswith("&&", at) or text.startswith("||", at):
        raise QueryError("Not supported: '&&' and '||' (write AND, OR).")
    value, field, end = _bare(text, at)
    if field is None:
        return (_Token(value, value) if value in ("AND", "OR", "NOT") else _Token("term", value)), end
    if field == "*" and value == "*":
        return _Token("all"), end
    if not value and end < len(text) and text[end] == '"':
        phrase, end = _phrase(text, end)
        return _Token("term", phrase, field=field, phrase=True), end
    if not value and end < len(text) and text[end] == "(":
        return _Token("field", field=field), end
    if not value and end < len(text) and text[end] in "[{":
        return _range(text, end, field)
    if not value:
        raise QueryError(f"'{field}:' has no value.")
    return _Token("term", value, field=field), end


def _moment(text: str) -> dt.datetime | None:
    if text == "*":
        return None
    if text == "NOW":
        return dt.datetime.now(dt.timezone.utc)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"Not a time: {text[:40]!r} (write 2024-04-01T00:00:00Z, NOW or *; no date math).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _range(text: str, at: int, field: str) -> tuple[_Token, int]:
    """``field:[low TO high]`` or ``field:{low TO high}`` at ``text[at]``, and where it ends."""
    close = "]" if text[at] == "[" else "}"
    end = text.find(close, at)
    if field not in RANGE_FIELDS:
        raise QueryError(f"Not supported: ranges on {field[:40]!r} (only on {', '.join(RANGE_FIELDS)}).")
    ends = text[at + 1:end].split(" TO ") if end > 0 else []
    if len(ends) != 2:
        raise QueryError(f"A range is written {field}:[low TO high] (or {{low TO high}}).")
    return _Token("range", range=Range(field, _moment(ends[0].strip()), _moment(ends[1].strip()), close == "]")), end + 1


# --- reading the tokens into a tree ----------------------------------------------------------------------

class _Reader:
    def __init__(self, found: list[_Token]) -> None:
        self.tokens, self.at, self.clauses = found, 0, 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def any_of(self, field: str | None) -> Node:
        """Clauses joined by OR (the weakest), each of clauses side by side or joined by AND."""
        clauses = [self.all_of(field)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            clauses.append(self.all_of(field))
        return clauses[0] if len(clauses) == 1 else Or(tuple(clauses))

    def all_of(self, field: str | None) -> Node:
        clauses = [self.one(field)]
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.take()
            clauses.append(self.one(field))
        return clauses[0] if len(clauses) == 1 else And(tuple(clauses))

    def one(self, field: str | None) -> Node:
        token = self.peek()
        if token is None or token.kind in ("AND", "OR", ")"):
            raise QueryError(f"Something is missing {'before ' + repr(token.value or token.kind) if token else 'at the end'}.")
        self.take()
        if token.kind in ("NOT", "-"):
            return Not(self.one(field))
        if token.kind == "+":
            return self.one(field)
        if token.kind == "(":
            return self.group(field)
        if token.kind == "field":
            if self.peek() is None or self.take().kind != "(":
                raise QueryError(f"'{token.field}:' has no value.")
            return self.group(_field(token.field or ""))
        if token.kind == "all":
            return All()
        if token.kind == "range":
            return token.range  # type: ignore[return-value]
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QueryError(f"At most {MAX_CLAUSES} words and filters in one query.")
        return Term(_field(token.field) if token.field is not None else field or "text", token.value, token.phrase)

    def group(self, field: str | None) -> Node:
        inside = self.any_of(field)
        if self.peek() is None or self.take().kind != ")":
            raise QueryError("A parenthesis is not closed.")
        return inside


def _field(name: str) -> str:
    if name not in FIELDS:
        raise QueryError(f"Cannot search the field {name[:40]!r}; the fields are {', '.join(FIELDS)}.")
    return "organization" if name == "owner_org" else name


def quoted(value: str) -> str:
    """``value`` as a quoted phrase that :func:`parse` reads back as written (``field:`` + this: one clause)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse(text: str) -> Node:
    """The tree of a ``q`` or ``fq`` (``All()`` for an empty one); :class:`QueryError` for a form not supported."""
    found = tokens(text)
    if not found:
        return All()
    reader = _Reader(found)
    tree = reader.any_of(None)
    if reader.peek() is not None:
        raise QueryError("A parenthesis is closed that was not opened.")
    return tree


def required_terms(tree: Node) -> list[Term]:
    """The terms every dataset found must match: the tree's own, or those its top AND holds as they are
    (not under OR or NOT); the search reads its candidates from them."""
    if isinstance(tree, Term):
        return [tree]
    if isinstance(tree, And):
        return [term for clause in tree.clauses for term in required_terms(clause) if isinstance(clause, (Term, And))]
    return []


def has_text(tree: Node) -> bool:
    """Whether the tree searches the words of the datasets' texts anywhere (a LIKE over each dataset's text)."""
    if isinstance(tree, Term):
        return tree.field in ("text", "title", "notes")
    if isinstance(tree, Not):
        return has_text(tree.clause)
    if isinstance(tree, (And, Or)):
        return any(has_text(clause) for clause in tree.clauses)
    return False
