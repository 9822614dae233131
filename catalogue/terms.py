"""Terms of use per dataset (データセットの利用規約), versioned as the governance agreements are.

A dataset whose licence is "terms of its own" (``DatasetLicence.own_terms``) carries its own terms:

* The provider (``dataset.manage``) writes them; every change makes the next version
  (:class:`DatasetTerms`), which is current at once. A version's text never changes
  (``content_hash``, the rule of versioned texts in :mod:`core.texts`, as agreements and consent
  texts use it). The same text again makes no version.
* For a limited dataset (access ``members`` or ``named``) a consumer (a municipality or a member
  organisation entitled to see it, :func:`operations.visibility`) accepts the current version
  before access is granted: its municipal admin or organisation admin (``dataset.terms.accept``)
  sends the hash of the text they read, and only the current version can be accepted
  (:func:`core.texts.refusal`). A new version asks again: an acceptance of an older version no
  longer grants access, and the consumers that had accepted are notified.
* Access is the dataset's distributions (its download URLs and API endpoints) in the catalogue
  (:func:`withheld`): a reader who may see a limited dataset with own terms sees its record and
  its terms, and its distributions only once their tenant or organisation accepted the current
  version. The provider, the operator and the auditor always see them. Open datasets' terms bind
  every user and are shown, but nobody is asked to accept them first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, outbox
from core.actor import Actor
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.texts import normalise_text, refusal, text_hash
from core.validation import text_problem
from catalogue import lists, operations
from catalogue.models import (Access, Dataset, DatasetLicence, DatasetStatus, DatasetTerms,
                                     DatasetTermsAcceptance)

TITLE_MAX = 200
BODY_MAX = 50_000


def terms_hash(dataset: Dataset, number: int, title: str, body_md: str) -> str:
    """SHA-256 of the canonical JSON of one version, bound to its dataset (uid) and number."""
    return text_hash({"dataset": dataset.uid, "number": number, "title": title, "body_md": body_md})


def own_terms_codes(session: Session) -> frozenset[str]:
    """The licence codes whose datasets carry their own terms."""
    return frozenset(lic.code for lic in lists.licences(session, include_inactive=True) if lic.own_terms)


def has_own_terms(session: Session, dataset: Dataset) -> bool:
    return dataset.licence_code in own_terms_codes(session)


def asks_acceptance(dataset: Dataset, own_codes: frozenset[str]) -> bool:
    """A limited dataset with its own terms: a consumer accepts them before access is granted."""
    return dataset.licence_code in own_codes and Access(dataset.access) != Access.open


def versions(session: Session, dataset: Dataset) -> list[DatasetTerms]:
    """Every version, newest first."""
    return list(session.scalars(sa.select(DatasetTerms).where(DatasetTerms.dataset_id == dataset.id)
                                .order_by(DatasetTerms.number.desc())))


def current(session: Session, dataset: Dataset) -> DatasetTerms | None:
    return current_of(session, [dataset.id]).get(dataset.id)


def current_of(session: Session, dataset_ids: Sequence[int]) -> dict[int, DatasetTerms]:
    """The current version of each dataset's terms (those that have any), in one query."""
    if not dataset_ids:
        return {}
    newest = (sa.select(DatasetTerms.dataset_id, sa.func.max(DatasetTerms.number).label("number"))
              .where(DatasetTerms.dataset_id.in_(list(dataset_ids))).group_by(DatasetTerms.dataset_id).subquery())
    rows = session.scalars(sa.select(DatasetTerms).join(newest, sa.and_(DatasetTerms.dataset_id == newest.c.dataset_id,
                                                                        DatasetTerms.number == newest.c.number)))
    return {row.dataset_id: row for row in rows}


def _accepted(session: Session, pairs: Iterable[tuple[int, int]], codes: Iterable[str]) -> set[int]:
    """Of ``pairs`` (dataset id, version number), the datasets whose version one of ``codes`` accepted."""
    pairs, codes = list(pairs), sorted(set(codes))
    if not pairs or not codes:
        return set()
    wanted = set(pairs)
    rows = session.execute(sa.select(DatasetTermsAcceptance.dataset_id, DatasetTermsAcceptance.number).where(
        DatasetTermsAcceptance.dataset_id.in_(sorted({d for d, _n in pairs})),
        DatasetTermsAcceptance.consumer_code.in_(codes)))
    return {dataset_id for dataset_id, number in rows if (dataset_id, number) in wanted}


def withheld(session: Session, actor: Actor | None, datasets: Sequence[Dataset]) -> set[int]:
    """Of ``datasets`` (which the reader may see), those whose distributions the reader may not have yet:
    limited, with their own terms, and the current version (or any, if none is written) not accepted
    by the reader's tenant or organisation. The provider, the operator and the auditor are never held."""
    if actor is not None and actor.roles & operations.FULL_VIEW:
        return set()
    codes = actor.tenant_codes if actor is not None else frozenset()
    own_codes = own_terms_codes(session) if datasets else frozenset()
    asking = [d for d in datasets if asks_acceptance(d, own_codes) and d.provider_code not in codes]
    if not asking:
        return set()
    terms = current_of(session, [d.id for d in asking])
    granted = _accepted(session, [(d.id, terms[d.id].number) for d in asking if d.id in terms], codes)
    return {d.id for d in asking if d.id not in granted}


# --- the provider writes them -------------------------------------------------------------------------

def revise(session: Session, actor: Actor, uid: str, title: str, body_md: str) -> DatasetTerms:
    """Make the next version of a dataset's terms (the first, or a change): current at once."""
    dataset = operations.get_dataset(session, actor, uid)
    authz.authorize(actor, "dataset.manage", dataset.provider_code)
    if DatasetStatus(dataset.status) == DatasetStatus.withdrawn:
        raise Conflict("A withdrawn dataset cannot be changed.", "公開を終了したデータセットは変更できません。")
    if not has_own_terms(session, dataset):
        raise Conflict("The dataset's licence is not terms of its own; choose that licence first.",
                       "このデータセットのライセンスは「独自の利用規約」ではありません。先にライセンスを変更してください。")
    title, body = (title or "").strip(), normalise_text(body_md or "")
    found = []
    if not title or len(title) > TITLE_MAX:
        found.append(problem("title", f"Enter the title (up to {TITLE_MAX} characters).",
                             f"表題を {TITLE_MAX} 文字以内で入力してください。"))
    elif (bad := text_problem(title, single_line=True)) is not None:
        found.append(problem("title", *bad))
    if not body.strip() or len(body) > BODY_MAX:
        found.append(problem("body_md", f"Enter the text (up to {BODY_MAX:,} characters).",
                             f"本文を {BODY_MAX:,} 文字以内で入力してください。"))
    elif (bad := text_problem(body, single_line=False)) is not None:
        found.append(problem("body_md", *bad))
    if found:
        raise Invalid("The terms have errors; nothing was saved.", "利用規約の内容に誤りがあります。保存していません。",
                      problems=found)
    last = current(session, dataset)
    if last is not None and last.title == title and last.body_md == body:
        raise Conflict("This is the current version's text; nothing was changed.",
                       f"第{last.number}版と同じ内容です。新しい版は作成していません。")
    number = (last.number if last else 0) + 1
    terms = DatasetTerms(dataset_id=dataset.id, number=number, title=title, body_md=body,
                         content_hash=terms_hash(dataset, number, title, body), created_by=actor.recorded_name)
    session.add(terms)
    dataset.modified_at = utcnow()  # harvesters see the record changed
    session.flush()
    notified = _notify_new_version(session, dataset, terms) if last is not None else []
    audit.record(session, actor, "dataset.terms.revise", "dataset", dataset.uid, tenant_code=dataset.provider_code,
                 before={"terms_version": last.number, "content_hash": last.content_hash} if last else None,
                 after={"terms_version": number, "title": title, "content_hash": terms.content_hash,
                        "asked_again": notified})
    return terms


def _notify_new_version(session: Session, dataset: Dataset, terms: DatasetTerms) -> list[str]:
    """Every consumer that accepted an older version is asked again (outbox); their codes."""
    codes = sorted(set(session.scalars(sa.select(DatasetTermsAcceptance.consumer_code)
                                       .where(DatasetTermsAcceptance.dataset_id == dataset.id))))
    if not asks_acceptance(dataset, own_terms_codes(session)):
        return []
    for code in codes:
        outbox.queue(
            session, kind="dataset.terms", tenant=_recipient(session, code),
            subject=f"【要対応】データセット「{dataset.title_ja}」利用規約 第{terms.number}版への同意のお願い",
            body=(f"データセット「{dataset.title_ja}」（{dataset.name}）の利用規約を改定しました（第{terms.number}版）。\n"
                  "改定後の規約に同意するまで、このデータセットの配布先（ダウンロード・API）は提供されません。\n"
                  "管理画面の「データセットの利用規約」から内容を確認し、同意してください。\n"),
            dedupe_key=f"dataset.terms:{dataset.uid}:{terms.number}:{code}")
    return codes


def _recipient(session: Session, code: str):
    """The tenant (its contacts) or, for a member organisation, a recipient with its contact address."""
    from tenancy.members.models import Organisation
    from tenancy.registry.models import Tenant

    if len(code) == 6:
        tenant = session.scalars(sa.select(Tenant).where(Tenant.code == code)).first()
        if tenant is not None:
            return tenant
    org = session.scalars(sa.select(Organisation).where(Organisation.corporate_number == code)).first()
    return operations.Recipient(code, org.contact_email if org is not None else "")


# --- a consumer accepts them ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Standing:
    """Where one consumer stands with one dataset's terms: ``ok`` (accepted the current version),
    ``pending`` (must accept the current version; ``accepted_number`` is an older one, if any),
    ``not_required`` (open, or no terms of its own)."""

    dataset: Dataset
    terms: DatasetTerms | None
    accepted_number: int | None
    state: str


def _consumer(actor: Actor, consumer_code: str | None) -> str:
    return authz.acting_for(actor, consumer_code, "consumer_code", "which municipality or organisation accepts",
                            "同意する団体")


def _visible_to(session: Session, dataset: Dataset, code: str) -> bool:
    """The catalogue's rule (:func:`operations.visibility`) for someone of ``code``."""
    reader = Actor(issuer="urn:renkei:terms", subject=code, tenant_codes=frozenset({code}))
    return session.scalar(sa.select(Dataset.id).where(Dataset.id == dataset.id,
                                                      operations.visibility(session, reader))) is not None


def _asking_dataset(session: Session, uid: str, code: str) -> Dataset:
    """A published limited dataset with its own terms that ``code`` may see; NotFound otherwise."""
    dataset = operations.find_dataset(session, uid)
    if dataset is None or DatasetStatus(dataset.status) != DatasetStatus.published or \
            not asks_acceptance(dataset, own_terms_codes(session)) or dataset.provider_code == code or \
            not _visible_to(session, dataset, code):
        raise NotFound(f"No dataset {uid} whose terms you can accept.", "同意できる利用規約のデータセットはありません。")
    return dataset


def standing(session: Session, actor: Actor, uid: str, consumer_code: str | None = None) -> Standing:
    """Where the actor's tenant or organisation stands with the dataset's terms."""
    authz.authorize(actor, "dataset.terms.accept", consumer_code)
    code = _consumer(actor, consumer_code)
    authz.authorize(actor, "dataset.terms.accept", code)
    dataset = _asking_dataset(session, uid, code)
    return _standings(session, [dataset], code)[0]


def _standings(session: Session, datasets: Sequence[Dataset], code: str) -> list[Standing]:
    terms = current_of(session, [d.id for d in datasets])
    newest: dict[int, int] = {}
    if datasets:
        for dataset_id, number in session.execute(sa.select(DatasetTermsAcceptance.dataset_id,
                                                            sa.func.max(DatasetTermsAcceptance.number))
                                                  .where(DatasetTermsAcceptance.dataset_id.in_([d.id for d in datasets]),
                                                         DatasetTermsAcceptance.consumer_code == code)
                                                  .group_by(DatasetTermsAcceptance.dataset_id)):
            newest[dataset_id] = number
    result = []
    for dataset in datasets:
        now = terms.get(dataset.id)
        accepted = newest.get(dataset.id)
        state = "ok" if now is not None and accepted == now.number else "pending"
        result.append(Standing(dataset, now, accepted, state))
    return result


def to_accept(session: Session, actor: Actor, consumer_code: str | None = None) -> list[Standing]:
    """The published limited datasets with their own terms the consumer may see, and where it stands with each."""
    authz.authorize(actor, "dataset.terms.accept", consumer_code)
    code = _consumer(actor, consumer_code)
    authz.authorize(actor, "dataset.terms.accept", code)
    own_codes = sorted(own_terms_codes(session))
    if not own_codes:
        return []
    reader = Actor(issuer="urn:renkei:terms", subject=code, tenant_codes=frozenset({code}))
    datasets = session.scalars(sa.select(Dataset).where(
        Dataset.status == DatasetStatus.published, Dataset.licence_code.in_(own_codes), Dataset.access != Access.open,
        Dataset.provider_code != code, operations.visibility(session, reader)).order_by(Dataset.title_ja, Dataset.id)).all()
    return _standings(session, list(datasets), code)


def accept(session: Session, actor: Actor, uid: str, number: int, seen_hash: str,
           consumer_code: str | None = None) -> DatasetTermsAcceptance:
    """The actor's tenant or organisation accepts the current version of a dataset's terms."""
    authz.authorize(actor, "dataset.terms.accept", consumer_code)
    code = _consumer(actor, consumer_code)
    authz.authorize(actor, "dataset.terms.accept", code)
    dataset = _asking_dataset(session, uid, code)
    terms = session.scalars(sa.select(DatasetTerms).where(DatasetTerms.dataset_id == dataset.id,
                                                          DatasetTerms.number == number)).one_or_none()
    if terms is None:
        raise NotFound(f"There is no version {number} of these terms.", f"利用規約の第{number}版はありません。")
    now = current(session, dataset)
    why = refusal(number, now.number if now else None, seen_hash, terms.content_hash)
    if why == "superseded":
        raise Conflict(f"Version {number} has been replaced by version {now.number}; accept that one.",
                       f"第{number}版は第{now.number}版に改定されています。第{now.number}版に同意してください。",
                       reason="superseded", current=now.number)
    if why == "hash_mismatch":
        raise Conflict("The text you read is not this version's text (the content hash differs); reload it and read it again.",
                       "確認された本文がこの版の本文と一致しません（ハッシュ値が異なります）。本文を再表示して確認してください。",
                       reason="hash_mismatch")
    if session.scalar(sa.select(DatasetTermsAcceptance.id).where(DatasetTermsAcceptance.terms_id == terms.id,
                                                                 DatasetTermsAcceptance.consumer_code == code)):
        raise Conflict(f"{code} has already accepted version {number}.", f"第{number}版には同意済みです。")
    acceptance = DatasetTermsAcceptance(terms_id=terms.id, dataset_id=dataset.id, number=number, consumer_code=code,
                                        content_hash=terms.content_hash, actor_issuer=actor.issuer,
                                        actor_subject=actor.subject, actor_name=actor.name)
    session.add(acceptance)
    session.flush()
    audit.record(session, actor, "dataset.terms.accept", "dataset", dataset.uid, tenant_code=code,
                 after={"consumer_code": code, "terms_version": number, "content_hash": terms.content_hash,
                        "provider_code": dataset.provider_code})
    return acceptance


def acceptances(session: Session, actor: Actor, uid: str) -> list[DatasetTermsAcceptance]:
    """Who accepted which version (the provider's and the operator's view), newest first."""
    dataset = operations.get_dataset(session, actor, uid)
    return list(session.scalars(sa.select(DatasetTermsAcceptance).where(DatasetTermsAcceptance.dataset_id == dataset.id)
                                .order_by(DatasetTermsAcceptance.accepted_at.desc(), DatasetTermsAcceptance.id.desc())))
