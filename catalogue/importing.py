"""Importing an existing list of datasets from a spreadsheet (CSV, UTF-8 or CP932, Japanese headers).

All or nothing: every row is checked first (the same checks as the form, :func:`operations.draft_problems`,
plus the provider's right to register and names unique within the file and the register), the
problems are listed by line (bounded), and nothing is written if any row fails. Lists are
written as people write them: the category, licence, access, frequency, personal-information and
standard kind by their Japanese names, several keywords or grantees separated by 「、」.
The operator may import rows as 公開中 (an existing catalogue's published datasets): such a row is
published only if it passes the publish checklist (:func:`operations.publish_checked`, the guard every
path to 公開中 passes); otherwise it stays a draft and the result says, by line, why (:class:`Imported`).
Anyone else's rows are drafts.
"""

from __future__ import annotations

import dataclasses
import unicodedata

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, calendar, csvfile
from core.actor import Actor
from core.errors import Invalid, problem
from core.labelled import labels
from catalogue import lists, operations, standards
from catalogue.models import Access, Dataset, Frequency, PersonalInfo

HEADERS = {
    "provider_code": ("提供者コード", "provider"), "name": ("識別名", "name"), "title_ja": ("タイトル", "title"),
    "title_en": ("タイトル（英語）", "title_en"), "description": ("説明", "description"),
    "category": ("分野", "category"), "keywords": ("キーワード", "keywords"), "licence": ("ライセンス", "licence"),
    "access": ("公開範囲", "access"), "grantees": ("利用できる団体", "grantees"),
    "frequency": ("更新頻度", "frequency"), "last_updated_on": ("最終更新日", "last_updated"),
    "department": ("担当課", "department"), "contact_email": ("メールアドレス", "email"),
    "contact_phone": ("電話番号", "phone"), "personal_info": ("個人情報", "personal_info"),
    "standard_kind": ("標準データセット", "standard"), "url": ("配布URL", "url"), "format": ("形式", "format"),
    "media_type": ("メディアタイプ", "media_type"), "byte_size": ("サイズ", "size"),
    "status": ("状態", "status"), "responsibility_remark": ("責任分界の補足", "responsibility_remark"),
}
# The most rows a dataset list may have: judged in about a second, each dataset then written as the
# form writes one (audited, indexed for search; about 10 ms each, docs/datasets.md), so the largest
# accepted file is written in well under a minute. A longer catalogue is imported in several files.
MAX_ROWS = 2_000
COLUMNS = csvfile.Columns({**{ja: f for f, (ja, _) in HEADERS.items()}, **{en: f for f, (_, en) in HEADERS.items()},
                           **{f: f for f in HEADERS}},
                          required=("provider_code", "title_ja", "category", "licence", "frequency"),
                          labels_ja={f: ja for f, (ja, _) in HEADERS.items()}, max_rows=MAX_ROWS)


class ImportRejected(Invalid):
    pass


def _words(labels: dict) -> dict[str, str]:
    words = {}
    for member, (ja, en) in labels.items():
        words[ja] = words[en.lower()] = words[member.value] = member.value
    return words


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(",", "、").split("、") if part.strip())


_DRAFT_FIELD = {"category": "category_code", "licence": "licence_code", "byte_size": "distributions",
               "last_updated_on": "last_updated_on"}


def _column_en(column: str) -> str:
    """A column's English name in words (``last updated``), as an English message names it."""
    return HEADERS[column][1].replace("_", " ")


def _column_of(field: str) -> str:
    """The file's column a draft's field (``category_code``, ``distributions.0.url``) came from: problems name
    the column a person wrote, never the draft's own field names."""
    parts = field.split(".")
    if parts[0] == "distributions":
        return parts[-1] if parts[-1] in HEADERS else "url"
    by_field = {draft_field: column for column, draft_field in _DRAFT_FIELD.items() if column != "byte_size"}
    name = by_field.get(parts[0], parts[0])
    return name if name in HEADERS else "name"


def _column_problem(where: str, row: csvfile.Row, found: dict[str, str]) -> dict[str, str]:
    """A draft's problem as the file's: named by the column a person wrote, with the value given (unless
    the message shows it already)."""
    column = _column_of(found["field"])
    value = row.values.get(column, "")
    shown_ja = f"（「{value}」）" if value and value not in found["message_ja"] else ""
    shown_en = f" ({value})" if value and value not in found["message_en"] else ""
    return problem(where, f"{_column_en(column)}{shown_en}: {found['message_en']}",
                   f"{HEADERS[column][0]}{shown_ja}: {found['message_ja']}")


class _Lists:
    """The words each listed column may hold, read once for the whole file."""

    def __init__(self, session: Session) -> None:
        categories, licences = lists.categories(session), lists.licences(session)
        self.categories = {c.label_ja: c.code for c in categories} | {c.code: c.code for c in categories}
        self.licences = {lic.title_ja: lic.code for lic in licences} | {lic.code: lic.code for lic in licences}
        self.kinds = {k.title_ja: k.code for k in standards.kinds().values()} | {k: k for k in standards.kinds()}


def _draft(known: _Lists, row: csvfile.Row) -> tuple[operations.DatasetDraft, str, list[dict[str, str]], set[str]]:
    """The row as a draft, its status, the problems of its listed values, and the draft fields they concern."""
    v = row.values
    found = []
    bad: set[str] = set()
    where = f"line {row.line}"
    categories, licences, kinds = known.categories, known.licences, known.kinds

    def pick(field: str, words: dict[str, str], default: str = "") -> str:
        value = v.get(field, "")
        if not value:
            return default
        chosen = words.get(value) or words.get(value.lower())
        if chosen is None:
            bad.add(_DRAFT_FIELD.get(field, field))
            label = HEADERS[field][0]
            found.append(problem(where, f"{_column_en(field)}: {value} is not in the list.",
                                 f"{label}: {value} は一覧にありません。"))
            return default
        return chosen

    last = None
    if v.get("last_updated_on"):
        last = calendar.read_date(v["last_updated_on"])
        if last is None:
            bad.add("last_updated_on")
            found.append(problem(where, f"last updated: {v['last_updated_on']} is not a date (2024-04-01 or 2024/4/1).",
                                 f"最終更新日: 「{v['last_updated_on']}」は日付ではありません"
                                 "（2024-04-01、2024/4/1 または 令和6年4月1日 のように書いてください）。"))
    size = None
    if v.get("byte_size"):
        if v["byte_size"].isdigit() and len(v["byte_size"]) < 18:
            size = int(v["byte_size"])
        else:
            bad.add("distributions")
            found.append(problem(where, "size: enter the size in bytes.", "サイズ: バイト数を数字で入力してください。"))
    status = pick("status", {"下書き": "draft", "draft": "draft", "公開中": "published", "公開": "published",
                             "published": "published"}, "draft")
    dists = ()
    if v.get("url"):
        dists = (operations.DistributionDraft(url=v["url"], format=v.get("format", ""), media_type=v.get("media_type", ""),
                                              byte_size=size, is_api="api" in v.get("format", "").lower()),)
    draft = operations.DatasetDraft(
        provider_code=unicodedata.normalize("NFKC", v.get("provider_code", "")).strip(), name=v.get("name", ""), title_ja=v.get("title_ja", ""),
        title_en=v.get("title_en", ""), description=v.get("description", ""),
        category_code=pick("category", categories, "?"), keywords="、".join(_split(v.get("keywords", ""))),
        licence_code=pick("licence", licences, "?"), access=pick("access", _words(labels(Access)), "open"),
        grantees=_split(v.get("grantees", "")), frequency=pick("frequency", _words(labels(Frequency)), "irregular"),
        last_updated_on=last, department=v.get("department", ""), contact_email=v.get("contact_email", ""),
        contact_phone=v.get("contact_phone", ""), personal_info=pick("personal_info", _words(labels(PersonalInfo)), "none"),
        standard_kind=pick("standard_kind", kinds) or None, responsibility_remark=v.get("responsibility_remark", ""),
        distributions=dists)
    return draft, status, found, bad


def _taken_names(session: Session, names: set[str]) -> set[str]:
    """Which of ``names`` the register holds, a thousand to a query."""
    asked, taken = sorted(names), set()
    for start in range(0, len(asked), operations.DraftLookups.BATCH):
        taken |= set(session.scalars(sa.select(Dataset.name).where(Dataset.name.in_(asked[start:start + operations.DraftLookups.BATCH]))))
    return taken


@dataclasses.dataclass(frozen=True)
class Held:
    """A row the file marked 公開中 that stayed a draft: its line, its dataset, and the checklist's unmet items."""

    line: int
    dataset: Dataset
    problems: list[dict[str, str]]

    @property
    def reasons(self) -> tuple[str, str]:
        """Why, in Japanese and English (each unmet item of the checklist)."""
        return ("、".join(p["message_ja"].removeprefix("未達: ") for p in self.problems),
                "; ".join(p["message_en"].removeprefix("Not met: ").rstrip(".") for p in self.problems))


@dataclasses.dataclass(frozen=True)
class Imported:
    """What an import registered (every row, in the file's order) and the rows asked 公開中 that stayed drafts."""

    created: list[Dataset]
    held: list[Held]

    def __len__(self) -> int:
        return len(self.created)

    def __iter__(self):
        return iter(self.created)

    def held_problems(self) -> list[dict[str, str]]:
        """Each held row's reason as a problem by line (what the pages and the API list)."""
        return [problem(f"line {h.line}", f"{h.dataset.name}: stays a draft, not published: {h.reasons[1]}.",
                        f"{h.dataset.name}: 公開の確認項目を満たさないため下書きのままです（{h.reasons[0]}）。")
                for h in self.held]


def import_datasets(session: Session, actor: Actor, raw: bytes) -> Imported:
    """Register every row of the file, or none of them (:class:`ImportRejected` listing the problems:
    :func:`judge_import`). A row asked 公開中 is published only past the publish checklist."""
    drafts, lookups = judge_import(session, actor, raw)
    drafts = _named(session, drafts)
    created, held = [], []
    with audit.act(session, actor, "dataset.import", "dataset", "import"):
        for draft, status, line in drafts:
            dataset = operations.register(session, actor, draft, lookups)
            if status == "published" and (unmet := operations.publish_checked(session, actor, dataset)):
                held.append(Held(line, dataset, unmet))
            created.append(dataset)
    return Imported(created, held)


def _named(session: Session, drafts: list[tuple[operations.DatasetDraft, str, int]]) -> list[tuple[operations.DatasetDraft, str, int]]:
    """Each draft without a name given the register's next free one, each provider's counted once
    (named one by one, the register counted a provider's datasets again for each: quadratic)."""
    unnamed: dict[str, int] = {}
    for draft, *_ in drafts:
        if not draft.name:
            unnamed[draft.provider_code] = unnamed.get(draft.provider_code, 0) + 1
    fresh = {code: iter(operations.next_names(session, code, count)) for code, count in unnamed.items()}
    return [(draft if draft.name else dataclasses.replace(draft, name=next(fresh[draft.provider_code])), status, line)
            for draft, status, line in drafts]


def judge_import(session: Session, actor: Actor,
                 raw: bytes) -> tuple[list[tuple[operations.DatasetDraft, str, int]], operations.DraftLookups]:
    """Every row of the file checked: the drafts, their statuses and lines, or :class:`ImportRejected`.

    At most :data:`MAX_ROWS` rows (a longer file is refused as it is read). The
    checks read the database once for the file, not once per row: the lists, the distinct providers
    and the names already taken, a thousand to a query."""
    authz.authorize(actor, "dataset.manage")
    rows = csvfile.read(raw, COLUMNS, rejected=ImportRejected)
    known = _Lists(session)
    drafted = [(row, *_draft(known, row)) for row in rows]
    lookups = operations.DraftLookups(session)
    lookups.know_providers(draft.provider_code for _, draft, *_ in drafted)
    taken = _taken_names(session, {draft.name for _, draft, *_ in drafted if draft.name})
    found = csvfile.Problems()
    drafts = []
    names: set[str] = set()
    may_publish = authz.allowed(actor, "dataset.review")
    for row, draft, status, problems, bad in drafted:
        found.add(*row.problems)
        found.add(*problems)
        where = f"line {row.line}"
        if not authz.allowed(actor, "dataset.manage", draft.provider_code or None):
            found.add(problem(where, f"You may not register datasets of {draft.provider_code}.",
                              f"提供者 {draft.provider_code} のデータセットを登録する権限がありません。"))
        if status == "published" and not may_publish:
            found.add(problem(where, "Only the operator imports published datasets.", "公開中として取り込めるのは運営者だけです。"))
        for p in operations.draft_problems(session, draft, lookups=lookups):
            if p["field"].split(".")[0] in bad:
                continue  # already named as a value not in its list
            found.add(_column_problem(where, row, p))
        if draft.name:
            if draft.name in names or draft.name in taken:
                found.add(problem(where, f"The name {draft.name} is taken.", f"識別名 {draft.name} はすでに使われています。"))
            names.add(draft.name)
        drafts.append((draft, status, row.line))
    if not rows:
        found.add(problem("line 2", "The file has no rows.", "データの行がありません。"))
    if found:
        en, ja = found.summary()
        raise ImportRejected(f"The file has {found.total:,} problems; nothing was imported{en}.",
                             f"ファイルに {found.total:,} 件の誤りがあります。何も取り込んでいません{ja}。", problems=found.listed)
    return drafts, lookups
