"""Inviting many people at once from a CSV file (UTF-8 or CP932, Japanese or English headers).

All or nothing up to the first write: the whole file is read and checked first (each field, the
roles the actor may grant, duplicates within the file, accounts that already exist, the tenant's
user-seat limit), and any problem refuses the file with the line numbers, before anything is
created in Keycloak. Then each line is invited in turn (:func:`operations.create_member`, which
deletes a half-made account again). If Keycloak fails part way, the lines already invited stay
invited (each has its audit record) and the result says which lines were invited and which not;
nothing is retried silently.

File layout (the header is line 1)::

    ユーザー名,メールアドレス,姓,名,役割
    kumamoto.taro,taro@city.kumamoto.example.jp,熊本,太郎,市町村職員
    kumamoto.hana,hana@city.kumamoto.example.jp,熊本,花子,市町村管理者、市町村職員
"""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy.orm import Session

from core import authz, csvfile
from core.actor import Actor
from core.errors import DomainError, Invalid, problem
from tenancy.identity import operations
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.identity.operations import Invitation, Invited

FIELD_LABELS_JA = {"username": "ユーザー名", "email": "メールアドレス", "last_name": "姓", "first_name": "名",
                   "roles": "役割"}
FIELD_LABELS_EN = {"username": "username", "email": "e-mail", "last_name": "family name", "first_name": "given name",
                   "roles": "roles"}

COLUMNS = csvfile.Columns(
    aliases={
        "ユーザー名": "username", "ユーザーID": "username", "username": "username",
        "メールアドレス": "email", "メール": "email", "email": "email", "e-mail": "email",
        "姓": "last_name", "氏": "last_name", "last_name": "last_name", "family name": "last_name",
        "名": "first_name", "first_name": "first_name", "given name": "first_name",
        "役割": "roles", "ロール": "roles", "roles": "roles",
    },
    required=("username", "email", "last_name", "first_name", "roles"),
    labels_ja=FIELD_LABELS_JA,
)

MAX_LINES = 1000
_ROLE_SEPARATORS = re.compile(r"[、,，;；/／|\s]+")
_ROLES_BY_NAME = {**{label: role for role, label in authz.ROLE_LABELS_JA.items() if role in authz.PEOPLE_ROLES},
                  **{role: role for role in authz.PEOPLE_ROLES}}


class InvitationFileRejected(Invalid):
    """The file could not be used; nobody was invited. ``problems`` name the lines."""

    def __init__(self, message_en: str = "The file has errors; nobody was invited.",
                 message_ja: str = "ファイルに誤りがあります。誰も招待していません。", *,
                 problems: list[dict[str, str]] | None = None, **details) -> None:
        super().__init__(message_en, message_ja, problems=problems, **details)


@dataclasses.dataclass(frozen=True)
class InvitationLine:
    line: int
    invitation: Invitation


@dataclasses.dataclass(frozen=True)
class LineResult:
    line: int
    invitation: Invitation
    invited: Invited | None = None
    error: DomainError | None = None  # why this line failed; None and not invited: not attempted

    @property
    def created(self) -> bool:
        return self.invited is not None


@dataclasses.dataclass(frozen=True)
class BulkInvitation:
    lines: list[LineResult]
    setup_method: str

    @property
    def created(self) -> list[LineResult]:
        return [result for result in self.lines if result.created]

    @property
    def not_created(self) -> list[LineResult]:
        return [result for result in self.lines if not result.created]

    @property
    def complete(self) -> bool:
        return not self.not_created


def _line_problem(line: int, field: str | None, message_en: str, message_ja: str) -> dict[str, str]:
    """A problem of one line, named in words: ``3 行目（メールアドレス）: ...``."""
    where_ja = f"{line} 行目" + (f"（{FIELD_LABELS_JA[field]}）" if field else "")
    where_en = f"Line {line}" + (f" ({FIELD_LABELS_EN[field]})" if field else "")
    return problem(f"line {line}", f"{where_en}: {message_en}", f"{where_ja}: {message_ja}")


def _roles(cell: str) -> tuple[frozenset[str], list[str]]:
    names = [name for name in _ROLE_SEPARATORS.split(cell) if name]
    unknown = [name for name in names if name not in _ROLES_BY_NAME]
    return frozenset(_ROLES_BY_NAME[name] for name in names if name in _ROLES_BY_NAME), unknown


def parse(source: csvfile.Source, actor: Actor) -> list[InvitationLine]:
    """Every line of the file as an invitation, or :class:`InvitationFileRejected` naming the bad
    lines (the first ones listed, all counted: :class:`core.csvfile.Problems`).

    ``source``: the file's bytes, its path or an upload's binary stream, read row by row in one
    pass (never held whole). Every row is checked, but only the first :data:`MAX_LINES` are kept
    (a longer file is refused) and only they are remembered for duplicates.
    """
    grantable = authz.grantable_roles(actor)
    problems = csvfile.Problems()
    lines: list[InvitationLine] = []
    seen: dict[str, dict[str, int]] = {"username": {}, "email": {}}
    count = 0
    for row in csvfile.source_rows(source, COLUMNS, rejected=InvitationFileRejected):
        count += 1
        problems.add(*(_line_problem(row.line, None, "The line has more values than the header has columns.",
                                     "見出しより多くの値があります。") for _ in row.problems))
        values = row.values
        roles, unknown = _roles(values.get("roles", ""))
        invitation = Invitation(values.get("username", ""), values.get("email", ""), values.get("first_name", ""),
                                values.get("last_name", ""), roles)
        for item in operations.invitation_problems(invitation):
            if item["field"] == "roles" and unknown:
                continue
            problems.add(_line_problem(row.line, item["field"], item["message_en"], item["message_ja"]))
        if unknown:
            labels = "、".join(authz.ROLE_LABELS_JA[r] for r in sorted(grantable))
            problems.add(_line_problem(row.line, "roles", f"Unknown role {'/'.join(unknown)}; write one of: {labels}.",
                                       f"「{'、'.join(unknown)}」は役割ではありません。{labels} のいずれかを書いてください。"))
        beyond = roles - set(grantable)
        if beyond:
            names = "、".join(authz.ROLE_LABELS_JA[r] for r in sorted(beyond))
            problems.add(_line_problem(row.line, "roles", f"You may not grant {', '.join(sorted(beyond))}.",
                                       f"{names} は付与できません。"))
        for field in ("username", "email"):
            key = getattr(invitation, field).lower()
            if key and key in seen[field]:
                first = seen[field][key]
                problems.add(_line_problem(row.line, field, f"Same as line {first}.", f"{first} 行目と同じです。"))
            elif key and count <= MAX_LINES:
                seen[field][key] = row.line
        if count <= MAX_LINES:
            lines.append(InvitationLine(row.line, invitation))
    if not count:
        raise InvitationFileRejected("The file has no data lines.", "ファイルにデータ行がありません。")
    too_many_en = too_many_ja = ""
    if count > MAX_LINES:
        too_many_en = f"The file has {count:,} lines, more than {MAX_LINES:,}; split it. "
        too_many_ja = f"ファイルに {count:,} 行あります。1 ファイルは {MAX_LINES:,} 行までです。分けて読み込んでください。"
        if not problems:
            raise InvitationFileRejected(too_many_en.strip(), too_many_ja)
    if problems:
        listed_en, listed_ja = problems.summary()
        raise InvitationFileRejected(
            f"{too_many_en}{problems.total:,} problem(s) found{listed_en}; nobody was invited.",
            f"{too_many_ja}{problems.total:,} 件の誤りがあります{listed_ja}。誰も招待していません。",
            **problems.details())
    return lines


def invite_from_csv(session: Session, actor: Actor, directory: IdentityDirectory, code: str,
                    source: csvfile.Source) -> BulkInvitation:
    """Check the whole file, then invite each line (see the module docstring). ``source``: the
    file's bytes, path or an upload's binary stream (read row by row)."""
    authz.authorize(actor, "user.manage", code)
    tenant = operations.open_tenant(session, code)
    lines = parse(source, actor)
    # read-only checks against Keycloak, still before anything is created; an account outside the
    # tenant is not named to its admin (no enumeration): that line is answered as invited (a decoy)
    problems, concealed = [], {}
    for item in lines:
        taken = operations.taken_problems(directory, item.invitation)
        if taken and operations.concealed_conflicts(session, actor, directory, code, item.invitation):
            concealed[item.line] = taken
            continue
        problems += [_line_problem(item.line, t["field"], t["message_en"], t["message_ja"]) for t in taken]
    if problems:
        raise InvitationFileRejected(problems=problems)
    if tenant.user_seat_limit is not None:
        members = operations.seats_used(session, directory, code)
        free = max(tenant.user_seat_limit - members, 0)
        if len(lines) > free:
            raise InvitationFileRejected(
                f"Tenant {code} may have {tenant.user_seat_limit} users and has {members}: {free} more can be invited, "
                f"the file has {len(lines)}; nobody was invited.",
                f"団体コード {code} の利用者数の上限は {tenant.user_seat_limit} 人で、現在 {members} 人です。"
                f"あと {free} 人まで招待できますが、ファイルには {len(lines)} 人あります。誰も招待していません。",
            )
    group_id = directory.ensure_tenant_group(code, tenant.name_ja)
    method = operations.setup_method(directory)
    results: list[LineResult] = []
    failed = False
    for item in lines:
        if failed:
            results.append(LineResult(item.line, item.invitation))
            continue
        try:
            if item.line in concealed:
                invited = operations.hidden_conflict(session, actor, directory, code, item.invitation, method,
                                                     concealed[item.line])
            else:
                invited = operations.create_member(session, actor, directory, code, group_id, item.invitation, method)
        except DomainError as error:
            failed = True
            results.append(LineResult(item.line, item.invitation, error=error))
            continue
        results.append(LineResult(item.line, item.invitation, invited=invited))
    return BulkInvitation(results, method)
