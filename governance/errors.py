"""Exceptions of the governance package; each says what is wrong and what to do, in Japanese and English.

The tree::

    GovernanceError
    ├── AgreementError         agreement versions and acceptances
    │   ├── VersionNotFound            (not found)
    │   ├── VersionNotAcceptable       (conflict: a draft, a superseded version, a changed text)
    │   ├── AlreadyAccepted            (conflict)
    │   ├── AlreadyPublished           (conflict)
    │   └── AgreementsNotAccepted      (conflict: the activation guard)
    ├── CouncilError           proposals, votes, resolutions
    │   ├── ProposalNotFound           (not found)
    │   ├── VoteRefused                (conflict: non-member, second vote, outside the window)
    │   ├── ProposalNotClosable        (conflict)
    │   ├── NoEnactor                  (conflict: nothing installed to enact this change type)
    │   └── InvalidProposal            (invalid)
    └── AuditError
        └── ChainBroken                (conflict: purge refused on a broken chain)
"""

from __future__ import annotations

from core.errors import Conflict, DomainError, Invalid, NotFound
from core.lifecycle import IllegalMove


class GovernanceError(DomainError):
    """Root of governance errors."""


class AgreementError(GovernanceError):
    pass


class VersionNotFound(AgreementError, NotFound):
    def __init__(self, document: str, number: int | None = None) -> None:
        what_en = f"version {number} of {document}" if number is not None else f"a published version of {document}"
        what_ja = f"{document} の第{number}版" if number is not None else f"{document} の公開済みの版"
        super().__init__(f"There is no {what_en}.", f"{what_ja}はありません。", document=document, number=number)


class VersionNotAcceptable(AgreementError, Conflict):
    pass


class AlreadyAccepted(AgreementError, Conflict):
    def __init__(self, tenant_code: str, document: str, number: int) -> None:
        super().__init__(
            f"Tenant {tenant_code} has already accepted version {number} of {document}.",
            f"団体コード {tenant_code} は {document} 第{number}版に同意済みです。",
            tenant=tenant_code, document=document, number=number,
        )


class AlreadyPublished(AgreementError, IllegalMove):
    def __init__(self, document: str, number: int) -> None:
        super().__init__(
            f"Version {number} of {document} is already published; publish a new version to change it.",
            f"{document} 第{number}版は公開済みです。変更する場合は新しい版を作成してください。",
            document=document, number=number,
        )


class AgreementsNotAccepted(AgreementError, Conflict):
    """The activation guard: ``problems`` lists each document whose required version is missing."""


class CouncilError(GovernanceError):
    pass


class ProposalNotFound(CouncilError, NotFound):
    def __init__(self, proposal_id: int) -> None:
        super().__init__(f"There is no council proposal #{proposal_id}.", f"協議会の議案 第{proposal_id}号はありません。",
                         proposal=proposal_id)


class VoteRefused(CouncilError, Conflict):
    """A vote that cannot count; ``details['reason']`` is one of not_member, already_voted,
    not_open_yet, window_closed, proposal_closed."""


class ProposalNotClosable(CouncilError, IllegalMove):
    """The proposal cannot be closed now (already closed, voting still open, its change refused)."""


class NoEnactor(CouncilError, Conflict):
    def __init__(self, change_type: str) -> None:
        super().__init__(
            f"Nothing is installed that can enact a '{change_type}' change; ask the system administrator.",
            f"議案の種類「{change_type}」を実行する機能が組み込まれていません。システム管理者に連絡してください。",
            change_type=change_type,
        )


class InvalidProposal(CouncilError, Invalid):
    pass


class AuditError(GovernanceError):
    pass


class ChainBroken(AuditError, Conflict):
    pass
