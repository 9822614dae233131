"""The lifecycles of the residents' side (:mod:`core.lifecycle`).

A resident is enrolled ``active`` (a common ID issued) or, when the enrolment matched someone,
``review``; the residents' desk decides a review: ``issue`` (a different person: active, with an ID)
or ``mark_duplicate`` (the existing person: kept, never issued). A review item moves with it:
open --same--> same_person, open --different--> different_person. Each decision needs a reason.

Recovery (four eyes, :mod:`residents.recovery`): an active resident whose second common ID is merged into
the surviving one becomes ``merged``; a recovery is ``proposed``, then ``approved`` (done) or ``refused``
by a second person of the desk, or ``cancelled`` by its proposer, each with a reason.

A resident who leaves in the portal (:mod:`residents.portal_records`) becomes ``left``; there is no way back
(they enrol anew at the desk). One who moves to another municipality or out of the area (:mod:`residents.moves`)
becomes ``moved``; a move into another of the portal's municipalities goes on under that municipality's common ID.
"""

from __future__ import annotations

from core.labelled import labels
from core.lifecycle import Lifecycle, Move
from residents.models import RecoveryStatus as S, ResidentStatus as R, ReviewStatus as V

RESIDENTS = Lifecycle("住民", "resident", R, labels(R), (
    Move("issue", frozenset({R.review}), R.active, "共通IDを発行", "issue a common ID", reason_required=True,
         grant="resident.review"),
    Move("mark_duplicate", frozenset({R.review}), R.duplicate, "既存の住民と同一", "mark as the existing resident",
         reason_required=True, grant="resident.review"),
    Move("merge", frozenset({R.active}), R.merged, "統合", "merge into the surviving common ID", reason_required=True,
         grant="resident.recover"),
    Move("leave", frozenset({R.active, R.review}), R.left, "退会", "leave (the resident, in the portal)"),
    Move("move", frozenset({R.active}), R.moved, "転出", "move out (the resident, in the portal)"),
), initial=(R.active, R.review))

REVIEWS = Lifecycle("同一人物の確認", "duplicate review", V, labels(V), (
    Move("same", frozenset({V.open}), V.same_person, "同一人物", "same person", reason_required=True,
         grant="resident.review"),
    Move("different", frozenset({V.open}), V.different_person, "別人", "different person", reason_required=True,
         grant="resident.review"),
), initial=(V.open,))

RECOVERIES = Lifecycle("連携の回復", "recovery", S, labels(S), (
    Move("approve", frozenset({S.proposed}), S.approved, "承認", "approve", grant="resident.recover"),
    Move("refuse", frozenset({S.proposed}), S.refused, "却下", "refuse", reason_required=True, grant="resident.recover"),
    Move("cancel", frozenset({S.proposed}), S.cancelled, "取下げ", "cancel", reason_required=True,
         grant="resident.recover"),
), initial=(S.proposed,))
