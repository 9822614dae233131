"""Contract and delivery (委託契約と成果, issue 41 item 6): the commissioned project's contract, its budget lines,
milestones and deliverables, the data rule checked against the dataset register at the project's end, and
the contract's cost entered among the year's costs under a grant.

Rules:

* A contract (``competition.manage``: the operator) is made only for a proposal the final selection chose
  (:class:`competition.models.Selection`, second stage, selected), once. Its representative is one of the
  group's members at declaration; its amount is integer yen, tax included, within the call's cap; its period
  lies in the call's fiscal year and ends no later than the commissioning end (:func:`commission_end`, the
  seed's 27 March); the contract date is on or before the period's first day.
* Its budget lines are each against one of the call's eligible cost categories (:data:`COST_CATEGORIES`,
  the seed's 対象経費) and add up to the amount exactly. Its milestones and deliverables (a milestone, a
  report, a dataset connected) have due dates within the period and a delivered state
  (:func:`deliver`: once, audited; a dataset deliverable names a dataset of the register provided by a
  member of the group).
* The data rule (seed 000: 複数種類の非パーソナルデータを活用すること、うち少なくとも1種類はデータ連携基盤から取得
  又は提供すること、うち少なくとも1種類は新たに基盤に接続すること) is decided from the register by
  :func:`data_rule`, its one home: the datasets the group used (the gateway's calls per dataset by the group's
  members during the period, ``usage_dataset_call``) and the datasets it newly connected (:func:`newly_connected`:
  datasets a member of the group provides that were first published during the period, or first connected by a
  route through the API gateway during it (``Dataset.first_connected_at``); a dataset already on the platform
  before the period, whenever renkei registered it, is not new). Each connected dataset says why it counts
  (:class:`ConnectedBy`: 初めて公開, 初めてルート接続). A kind is a dataset's standard kind, else its
  category: the same kind from two municipalities is one kind. A project that connected none does not meet
  the rule, and says why in words.
* The contract's cost joins the year's costs under a grant (:func:`record_cost`, ``billing.manage``): a
  cost item of the call's fiscal year entered by billing's own operation and named among the grant's items
  by billing's own grant update (no second ledger rule here). Once per contract.
* Every act is audited: ``competition.contract.create``, ``competition.contract.deliver``,
  ``competition.contract.cost`` (one record whose steps are billing's cost item and grant update).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from billing import grants as billing_grants
from billing import operations as billing
from billing.models import CostCategory, TaxTreatment
from billing.schemas import CostItemCreate, GrantCreate
from competition.models import CURRENT_PROPOSAL, Call, Declaration, Proposal, Selection, Stage
from competition.operations import get_call, representative_codes
from core import audit, authz
from core.actor import Actor
from core.calendar import date_ja, day_start_utc, month_of
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum
from catalogue.models import Dataset, DatasetCategory, DatasetStatus, PersonalInfo
from catalogue.standards import kind_of
from usage.models import UsageDatasetCall

COMMISSION_END = (3, 27)  # 委託期間は令和８年３月２７日まで: the 27 March after the call's fiscal year

# The call's eligible costs (対象経費, seed 000) as the categories a budget line is entered against.
COST_CATEGORIES: dict[str, tuple[str, str]] = {
    "software": ("ソフトウェアライセンス", "Software licences"),
    "equipment": ("機器導入費", "Equipment"),
    "api": ("API接続に係る改修費", "Changes to connect by API"),
    "labour": ("人件費", "Labour"),
    "travel": ("旅費", "Travel"),
    "documents": ("資料作成費", "Documents"),
    "ip": ("知的財産権の利用に係る経費", "Use of intellectual property"),
    "cloud": ("クラウドサービスの利用料（委託期間内）", "Cloud services (within the period)"),
    "connection": ("収集したデータを基盤に接続する作業費", "Connecting the data collected to the platform"),
}


class ItemKind(LabelledEnum):
    milestone = "milestone", "工程", "Milestone"
    report = "report", "報告書", "Report"
    dataset = "dataset", "接続するデータ", "Dataset connected"


class Contract(SQLModel, table=True):
    """The commissioned project's contract (委託契約) with a selected group."""

    __tablename__ = "competition_contract"

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id", index=True)
    declaration_id: int = Field(foreign_key="competition_declaration.id", sa_column_kwargs={"unique": True})
    representative: str = Field(max_length=13)  # a member's corporate number
    amount_yen: int  # tax included
    starts_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    ends_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    signed_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    cost_item_id: Optional[int] = Field(default=None, foreign_key="billing_cost_item.id")
    grant_id: Optional[int] = Field(default=None, foreign_key="billing_grant.id")
    created_by: str = Field(max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class ContractLine(SQLModel, table=True):
    """A budget line of the contract, against one of the call's eligible cost categories."""

    __tablename__ = "competition_contract_line"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="competition_contract.id", index=True)
    position: int
    category: str = Field(max_length=20)
    item: str = Field(max_length=200)
    amount_yen: int


class ContractItem(SQLModel, table=True):
    """A milestone or deliverable of the contract, with its due date and delivered state."""

    __tablename__ = "competition_contract_item"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="competition_contract.id", index=True)
    position: int
    kind: ItemKind = Field(sa_column=enum_column(ItemKind, length=12))
    title: str = Field(max_length=200)
    due_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    dataset_id: Optional[int] = Field(default=None, foreign_key="dataset.id")
    delivered_on: Optional[dt.date] = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    delivered_by: str = Field(default="", max_length=255)


@dataclasses.dataclass(frozen=True)
class BudgetLine:
    category: str
    item: str
    amount_yen: int


@dataclasses.dataclass(frozen=True)
class Deliverable:
    kind: str
    title: str
    due_on: dt.date | None


@dataclasses.dataclass(frozen=True)
class Terms:
    representative: str
    amount_yen: int
    starts_on: dt.date | None
    ends_on: dt.date | None
    signed_on: dt.date | None


def commission_end(call: Call) -> dt.date:
    """The last day a project of the call may run (the seed's 27 March after the fiscal year)."""
    return dt.date(call.fiscal_year + 1, *COMMISSION_END)


def _is_yen(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_short_text(text: str | None) -> bool:
    """A line's or deliverable's wording: given, and at most 200 characters."""
    return bool((text or "").strip()) and len(text.strip()) <= 200


def _amount_problems(call: Call, amount_yen: object) -> list[dict[str, str]]:
    if not _is_yen(amount_yen) or amount_yen == 0:
        return [problem("amount_yen", "Enter the amount as a whole number of yen above 0.",
                        "契約金額は1円以上の整数（円）で入力してください。")]
    if amount_yen > call.cap_yen:
        return [problem("amount_yen", f"The amount {amount_yen:,} yen exceeds the cap of {call.cap_yen:,} yen "
                        "(tax included).", f"契約金額 {amount_yen:,} 円が委託限度額 {call.cap_yen:,} 円（税込）を超えています。")]
    return []


def _missing_dates(terms: Terms) -> list[dict[str, str]]:
    return [problem(field, f"Enter {en}.", f"{ja}を入力してください。")
            for field, value, en, ja in (("starts_on", terms.starts_on, "the first day", "委託期間の開始日"),
                                         ("ends_on", terms.ends_on, "the last day", "委託期間の終了日"),
                                         ("signed_on", terms.signed_on, "the contract date", "契約日"))
            if value is None]


def _period_problems(call: Call, terms: Terms) -> list[dict[str, str]]:
    """The commissioning period within the call's fiscal year and commission end, signed before it starts."""
    found = []
    first, end = dt.date(call.fiscal_year, 4, 1), commission_end(call)
    if terms.starts_on < first:
        found.append(problem("starts_on", f"The period starts in the call's fiscal year, on or after {first}.",
                             f"委託期間の開始日は{date_ja(first)}以降にしてください。"))
    if terms.ends_on < terms.starts_on:
        found.append(problem("ends_on", "The period ends on or after its first day.", "委託期間の終了日は開始日以降にしてください。"))
    if terms.ends_on > end:
        found.append(problem("ends_on", f"The commissioning period ends by {end}.",
                             f"委託期間は{date_ja(end)}までです。終了日をそれ以前にしてください。"))
    if terms.signed_on > terms.starts_on:
        found.append(problem("signed_on", "The contract is signed on or before the period's first day.",
                             "契約日は委託期間の開始日以前にしてください。"))
    return found


def _terms_problems(call: Call, members: list[str], terms: Terms) -> list[dict[str, str]]:
    found = []
    if terms.representative not in members:
        found.append(problem("representative", "The representative must be a member of the group.",
                             "代表者はグループの構成員から選んでください。"))
    found += _amount_problems(call, terms.amount_yen) + _missing_dates(terms)
    return found or _period_problems(call, terms)


def _line_problems(n: int, line: BudgetLine) -> list[dict[str, str]]:
    found = []
    if line.category not in COST_CATEGORIES:
        found.append(problem(f"lines[{n}]", f"Line {n}: choose one of the call's eligible costs.",
                             f"{n}行目：公募の対象経費から経費区分を選んでください。"))
    if not _is_short_text(line.item):
        found.append(problem(f"lines[{n}]", f"Line {n} needs an item (up to 200 characters).",
                             f"{n}行目の内容を200文字以内で入力してください。"))
    if not _is_yen(line.amount_yen):
        found.append(problem(f"lines[{n}]", f"Line {n}'s amount is a whole number of yen, 0 or more.",
                             f"{n}行目の金額は0以上の整数（円）で入力してください。"))
    return found


def _lines_problems(lines: Sequence[BudgetLine], amount_yen: int) -> list[dict[str, str]]:
    found = []
    if not lines:
        found.append(problem("lines", "The budget needs at least one line.", "予算の内訳を1行以上入力してください。"))
    for n, line in enumerate(lines, start=1):
        found += _line_problems(n, line)
    if not found and _is_yen(amount_yen):
        summed = sum(line.amount_yen for line in lines)
        if summed != amount_yen:
            found.append(problem("lines", f"The lines add up to {summed:,} yen, not the amount {amount_yen:,} yen.",
                                 f"内訳の合計 {summed:,} 円が契約金額 {amount_yen:,} 円と一致しません。"))
    return found


def _item_problems(n: int, item: Deliverable, terms: Terms) -> list[dict[str, str]]:
    found = []
    if item.kind not in {k.value for k in ItemKind}:
        found.append(problem(f"items[{n}]", f"Item {n}: choose a milestone, a report or a dataset.",
                             f"{n}件目：工程・報告書・接続するデータのいずれかを選んでください。"))
    if not _is_short_text(item.title):
        found.append(problem(f"items[{n}]", f"Item {n} needs a title (up to 200 characters).",
                             f"{n}件目の名称を200文字以内で入力してください。"))
    if item.due_on is None:
        found.append(problem(f"items[{n}]", f"Item {n} needs its due date.", f"{n}件目の期限を入力してください。"))
    elif terms.starts_on and terms.ends_on and not terms.starts_on <= item.due_on <= terms.ends_on:
        found.append(problem(f"items[{n}]", f"Item {n} is due within the period.",
                             f"{n}件目の期限は委託期間内にしてください。"))
    return found


def _items_problems(items: Sequence[Deliverable], terms: Terms) -> list[dict[str, str]]:
    return [found for n, item in enumerate(items, start=1) for found in _item_problems(n, item, terms)]


def _selected(session: Session, call_id: int, group_id: int) -> tuple[Declaration, Proposal]:
    declaration = session.scalars(sa.select(Declaration).where(Declaration.call_id == call_id,
                                                               Declaration.group_id == group_id)).one_or_none()
    chosen = declaration is not None and session.scalar(sa.select(Selection.id).where(
        Selection.call_id == call_id, Selection.stage == Stage.second, Selection.declaration_id == declaration.id,
        Selection.selected.is_(True))) is not None
    proposal = session.scalars(sa.select(Proposal).where(Proposal.declaration_id == declaration.id, CURRENT_PROPOSAL)
                               ).first() if chosen else None
    if proposal is None:
        raise Conflict("A contract is made only for a proposal the final selection chose.",
                       "委託契約は、選定結果で選定された提案についてのみ締結できます。")
    return declaration, proposal


def create_contract(session: Session, actor: Actor, call_id: int, group_id: int, terms: Terms,
                    lines: Sequence[BudgetLine], items: Sequence[Deliverable] = ()) -> Contract:
    """The selected group's contract with its budget lines and deliverables; refused in words otherwise."""
    authz.authorize(actor, "competition.manage")
    call = get_call(session, call_id)
    declaration, proposal = _selected(session, call.id, group_id)
    if session.scalar(sa.select(Contract.id).where(Contract.declaration_id == declaration.id)) is not None:
        raise Conflict(f"{declaration.group_name} already has its contract.", f"「{declaration.group_name}」の委託契約はすでに登録されています。")
    members = [m for m in declaration.members.split(",") if m]
    found = _terms_problems(call, members, terms) + _lines_problems(lines, terms.amount_yen) + _items_problems(items, terms)
    if found:
        raise Invalid.listing("The contract was not recorded.", "委託契約を登録できません。", found)
    contract = Contract(call_id=call.id, declaration_id=declaration.id, representative=terms.representative,
                        amount_yen=terms.amount_yen, starts_on=terms.starts_on, ends_on=terms.ends_on,
                        signed_on=terms.signed_on, created_by=actor.subject)
    session.add(contract)
    session.flush()
    session.add_all(ContractLine(contract_id=contract.id, position=n, category=line.category, item=line.item.strip(),
                                 amount_yen=line.amount_yen) for n, line in enumerate(lines, start=1))
    session.add_all(ContractItem(contract_id=contract.id, position=n, kind=ItemKind(item.kind), title=item.title.strip(),
                                 due_on=item.due_on) for n, item in enumerate(items, start=1))
    session.flush()
    audit.record(session, actor, "competition.contract.create", "competition_contract", str(contract.id),
                 tenant_code=terms.representative,
                 after={"call_id": call.id, "group_id": group_id, "proposal_id": proposal.id,
                        "representative": terms.representative, "amount_yen": terms.amount_yen,
                        "starts_on": terms.starts_on.isoformat(), "ends_on": terms.ends_on.isoformat(),
                        "signed_on": terms.signed_on.isoformat(),
                        "lines": [dataclasses.asdict(line) for line in lines],
                        "items": [{"kind": i.kind, "title": i.title, "due_on": i.due_on.isoformat()} for i in items]})
    return contract


def authorize_read(actor: Actor) -> None:
    """Contracts are read by the competition's readers and by finance, who enters their cost."""
    if not authz.allowed(actor, "billing.manage"):
        authz.authorize(actor, "competition.read")


def get_contract(session: Session, actor: Actor, contract_id: int) -> Contract:
    authorize_read(actor)
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"No contract {contract_id}.", "この委託契約はありません。")
    return contract


def list_contracts(session: Session, actor: Actor, call_id: int | None = None) -> list[tuple[Contract, Declaration]]:
    """The contracts of a call (of every call when None), the latest first."""
    authorize_read(actor)
    query = sa.select(Contract, Declaration).join(Declaration, Declaration.id == Contract.declaration_id)
    if call_id is not None:
        query = query.where(Contract.call_id == call_id)
    rows = session.execute(query.order_by(Contract.id.desc())).all()
    return [(c, d) for c, d in rows]


def budget_lines(session: Session, contract_id: int) -> list[ContractLine]:
    return list(session.scalars(sa.select(ContractLine).where(ContractLine.contract_id == contract_id)
                                .order_by(ContractLine.position)))


def deliverables(session: Session, contract_id: int) -> list[ContractItem]:
    return list(session.scalars(sa.select(ContractItem).where(ContractItem.contract_id == contract_id)
                                .order_by(ContractItem.position)))


def awaiting_contract(session: Session, actor: Actor) -> list[tuple[Call, Declaration, list[str]]]:
    """The finally selected groups without a contract yet (every call), with their members at declaration."""
    authz.authorize(actor, "competition.manage")
    rows = session.execute(
        sa.select(Call, Declaration).join(Selection, Selection.call_id == Call.id)
        .join(Declaration, Declaration.id == Selection.declaration_id)
        .where(Selection.stage == Stage.second, Selection.selected.is_(True),
               ~sa.exists().where(Contract.declaration_id == Declaration.id))
        .order_by(Call.fiscal_year.desc(), Selection.rank)).all()
    return [(c, d, [m for m in d.members.split(",") if m]) for c, d in rows]


def group_datasets(session: Session, contract: Contract) -> list[Dataset]:
    """The register's datasets the group's members provide (the picker of a dataset deliverable)."""
    declaration = session.get(Declaration, contract.declaration_id)
    return list(session.scalars(sa.select(Dataset).where(Dataset.provider_code.in_(sorted(_group_codes(declaration))))
                                .order_by(Dataset.name)))


def _group_codes(declaration: Declaration) -> set[str]:
    """The codes the group's members act and provide under: corporate numbers, and a municipality's tenant code."""
    codes: set[str] = set()
    for number in declaration.members.split(","):
        if number:
            codes |= representative_codes(number)
    return codes


def deliver(session: Session, actor: Actor, contract_id: int, item_id: int, delivered_on: dt.date,
            dataset_id: int | None = None) -> ContractItem:
    """Mark a milestone or deliverable delivered (once); a dataset deliverable names the dataset connected."""
    authz.authorize(actor, "competition.manage")
    contract = get_contract(session, actor, contract_id)
    item = session.get(ContractItem, item_id)
    if item is None or item.contract_id != contract.id:
        raise NotFound(f"No item {item_id} of this contract.", "この契約にその工程・成果物はありません。")
    if item.delivered_on is not None:
        raise Conflict("The item is already delivered.", "この工程・成果物はすでに完了として記録されています。")
    found = []
    if delivered_on is None:
        found.append(problem("delivered_on", "Enter the day it was delivered.", "完了日を入力してください。"))
    elif delivered_on < contract.starts_on:
        found.append(problem("delivered_on", "It was delivered within the period (or after it), not before.",
                             "完了日は委託期間の開始日以降にしてください。"))
    if item.kind is ItemKind.dataset:
        dataset = session.get(Dataset, dataset_id) if dataset_id else None
        declaration = session.get(Declaration, contract.declaration_id)
        if dataset is None or dataset.provider_code not in _group_codes(declaration):
            found.append(problem("dataset_id", "Choose the dataset of the register a member of the group provides.",
                                 "グループの構成員が提供するデータセットをデータセット台帳から選んでください。"))
    if found:
        raise Invalid("The delivery was not recorded.", "完了を記録できません。" + " ".join(p["message_ja"] for p in found),
                      problems=found)
    item.delivered_on, item.delivered_by = delivered_on, actor.subject
    item.dataset_id = dataset_id if item.kind is ItemKind.dataset else None
    session.flush()
    audit.record(session, actor, "competition.contract.deliver", "competition_contract", str(contract.id),
                 tenant_code=contract.representative,
                 after={"item_id": item.id, "kind": item.kind.value, "title": item.title,
                        "delivered_on": delivered_on.isoformat(), "dataset_id": item.dataset_id})
    return item


# --- the data rule (seed 000), decided from the dataset register ------------------------------------------

class ConnectedBy(LabelledEnum):
    """Why a dataset counts as newly connected in a period."""
    published = "published", "初めて公開", "First published"
    route = "route", "初めてルート接続", "First connected by route"


@dataclasses.dataclass(frozen=True)
class DatasetFact:
    id: int
    name: str
    title_ja: str
    provider_code: str
    kind: str  # the standard kind's code, else "category:<code>"
    kind_label: str
    personal: bool  # holds personal information (anonymised counts as personal here)
    calls: int  # the group's calls through the gateway in the period (0 for a dataset only connected)
    connected_by: tuple[ConnectedBy, ...] = ()  # why it counts as newly connected (empty for a dataset only used)


@dataclasses.dataclass(frozen=True)
class DataRule:
    used: list[DatasetFact]
    connected: list[DatasetFact]
    kinds: list[str]  # the distinct kinds of non-personal data among the used and the connected
    reasons: list[tuple[str, str]]  # why the rule is not met (ja, en); empty: met

    @property
    def met(self) -> bool:
        return not self.reasons


def dataset_kind(dataset: Dataset, category_labels: dict[str, str] | None = None) -> tuple[str, str]:
    """A dataset's kind for the rule and its label: its standard kind, else its category (one kind, whoever
    provides it)."""
    standard = kind_of(dataset.standard_kind)
    if standard is not None:
        return standard.code, standard.title_ja
    return f"category:{dataset.category_code}", (category_labels or {}).get(dataset.category_code, dataset.category_code)


def _fact(dataset: Dataset, calls: int, category_labels: dict[str, str],
          connected_by: tuple[ConnectedBy, ...] = ()) -> DatasetFact:
    kind, label = dataset_kind(dataset, category_labels)
    return DatasetFact(dataset.id, dataset.name, dataset.title_ja, dataset.provider_code, kind, label,
                       dataset.personal_info is not PersonalInfo.none, calls, connected_by)


def judge(used: Sequence[DatasetFact], connected: Sequence[DatasetFact]) -> list[tuple[str, str]]:
    """Why the rule is not met by these datasets (empty when it is)."""
    reasons = []
    kinds = {f.kind for f in [*used, *connected] if not f.personal}
    if len(kinds) < 2:
        reasons.append((f"非パーソナルデータの種類が{len(kinds)}種類です。複数の種類が必要です"
                        "（同じ種類のデータは、複数の市町村のものでも1種類と数えます）。",
                        f"The project has {len(kinds)} kind(s) of non-personal data; several are required "
                        "(the same kind from several municipalities counts once)."))
    if not used and not connected:
        reasons.append(("データ連携基盤から取得または基盤へ提供したデータがありません。",
                        "No data was obtained from or provided to the platform."))
    if not connected:
        reasons.append(("委託期間中にグループの構成員が新たに基盤へ接続（初めて公開、または初めてルート接続）したデータセットがありません。",
                        "No dataset was newly connected (first published, or first connected by route) by a member of "
                        "the group during the period."))
    return reasons


def newly_connected(codes: Sequence[str], start: dt.datetime, end: dt.datetime) -> sa.Select:
    """The datasets connected to the platform in [start, end) by the providers ``codes``:

    * first published (``Dataset.published_at``, set once when the review publishes it; a published dataset
      never goes back to draft) within the period and still published; or
    * first connected by a route through the API gateway (``Dataset.first_connected_at``, set once when a
      distribution first names a route; removing the route and adding it again does not move it) within the
      period, and not withdrawn since (a draft's route already carries its data through the gateway).

    A dataset registered in renkei during the period but published and routed before it, or registered and
    published before it and never routed (a catalogue that was already on the platform), is not new data."""
    published = sa.and_(Dataset.status == DatasetStatus.published, Dataset.published_at >= start,
                        Dataset.published_at < end)
    routed = sa.and_(Dataset.status != DatasetStatus.withdrawn, Dataset.first_connected_at >= start,
                     Dataset.first_connected_at < end)
    return sa.select(Dataset).where(Dataset.provider_code.in_(codes), sa.or_(published, routed))


def connected_by(dataset: Dataset, start: dt.datetime, end: dt.datetime) -> tuple[ConnectedBy, ...]:
    """Why a dataset :func:`newly_connected` returned counts: its first publication, its first route or both in
    [start, end), in the order they happened."""
    moments = [(at, reason) for at, reason in ((dataset.published_at, ConnectedBy.published),
                                               (dataset.first_connected_at, ConnectedBy.route))
               if at is not None and start <= at < end
               and (reason is ConnectedBy.route or dataset.status == DatasetStatus.published)]
    return tuple(reason for _at, reason in sorted(moments, key=lambda m: m[0]))


def data_rule(session: Session, contract: Contract) -> DataRule:
    """The data rule decided from the register: the datasets the group used and newly connected in the period."""
    declaration = session.get(Declaration, contract.declaration_id)
    codes = sorted(_group_codes(declaration))
    start, end = day_start_utc(contract.starts_on), day_start_utc(contract.ends_on + dt.timedelta(days=1))
    calls = sa.func.sum(UsageDatasetCall.calls)
    used_rows = session.execute(
        sa.select(Dataset, calls).join(UsageDatasetCall, sa.and_(UsageDatasetCall.dataset == Dataset.name,
                                                                 UsageDatasetCall.provider_code == Dataset.provider_code))
        .where(UsageDatasetCall.consumer_code.in_(codes), UsageDatasetCall.period_start >= month_of(contract.starts_on),
               UsageDatasetCall.period_start <= contract.ends_on)
        .group_by(Dataset.id).order_by(Dataset.name)).all()
    connected_rows = session.scalars(newly_connected(codes, start, end).order_by(Dataset.name))
    labels = dict(session.execute(sa.select(DatasetCategory.code, DatasetCategory.label_ja)).all())
    used = [_fact(d, int(n or 0), labels) for d, n in used_rows]
    connected = [_fact(d, 0, labels, connected_by(d, start, end)) for d in connected_rows]
    kinds = sorted({f.kind for f in [*used, *connected] if not f.personal})
    return DataRule(used, connected, kinds, judge(used, connected))


def check_data_rule(session: Session, actor: Actor, contract_id: int) -> DataRule:
    return data_rule(session, get_contract(session, actor, contract_id))


# --- the cost under the grant ---------------------------------------------------------------------------

def _grant_input(grant) -> dict:
    summary = billing_grants.grant_summary(grant)
    return {"fiscal_year": grant.fiscal_year, "name": grant.name, "grantor": grant.grantor, "rate": grant.rate,
            "categories": summary["categories"], "item_ids": summary["item_ids"], "applied_amount": grant.applied_amount,
            "decided_amount": grant.decided_amount, "decided_on": grant.decided_on,
            "decision_reference": grant.decision_reference}


def record_cost(session: Session, actor: Actor, contract_id: int, grant_id: int,
                category: CostCategory = CostCategory.run) -> Contract:
    """Enter the contract's amount as a cost item of the call's year (billing's operation) and name it among
    the grant's items (billing's grant update): the year's costs under the grant include the project."""
    authz.authorize(actor, "billing.manage")
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"No contract {contract_id}.", "この委託契約はありません。")
    if contract.cost_item_id is not None:
        raise Conflict("The contract's cost is already entered.", "この委託契約の経費はすでに計上されています。")
    call = session.get(Call, contract.call_id)
    grant = billing_grants.get_grant(session, grant_id)
    if grant.fiscal_year != call.fiscal_year:
        raise Invalid(f"The grant is of FY{grant.fiscal_year}, the contract of FY{call.fiscal_year}.",
                      "交付金の年度が委託契約の年度と異なります。",
                      problems=[problem("grant_id", "Choose a grant of the contract's fiscal year.",
                                        "委託契約と同じ年度の交付金を選んでください。")])
    declaration = session.get(Declaration, contract.declaration_id)
    with audit.act(session, actor, "competition.contract.cost", "competition_contract", str(contract.id),
                   tenant_code=contract.representative):
        item = billing.create_cost_item(session, actor, CostItemCreate(
            fiscal_year=call.fiscal_year, name=f"{call.title}（{declaration.group_name}）"[:200],
            category=CostCategory(category), amount=contract.amount_yen, tax_treatment=TaxTreatment.taxable_10,
            vendor=declaration.group_name[:200], reference=f"委託契約 #{contract.id}"))[0]
        data = _grant_input(grant)
        data["item_ids"] = [*data["item_ids"], item.id]
        billing_grants.update_grant(session, actor, grant.id, GrantCreate.model_validate(data))
        contract.cost_item_id, contract.grant_id = item.id, grant.id
        session.flush()
        audit.record(session, actor, "competition.contract.cost", "competition_contract", str(contract.id),
                     tenant_code=contract.representative,
                     after={"cost_item_id": item.id, "grant_id": grant.id, "amount_yen": contract.amount_yen,
                            "fiscal_year": call.fiscal_year, "category": CostCategory(category).value})
    return contract
