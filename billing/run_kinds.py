"""The kinds of allocation run (確定, 概算, 精算) and the rules that read them (one home)."""

from __future__ import annotations

import enum


class RunKind(str, enum.Enum):
    """What a run charges: the year's shares once (確定), a provisional charge before the year's figures are
    fixed (概算), or the settlement of a provisional charge once they are (精算: only the differences)."""

    final = "final"
    provisional = "provisional"
    settlement = "settlement"


RUN_KIND_LABELS_JA = {RunKind.final: "確定", RunKind.provisional: "概算", RunKind.settlement: "精算"}
RUN_KIND_LABELS_EN = {RunKind.final: "Final", RunKind.provisional: "Provisional", RunKind.settlement: "Settlement"}
RUN_KIND_SLOT = {RunKind.final: "charge", RunKind.provisional: "charge", RunKind.settlement: "settlement"}
"""Posted runs of a year in one slot exclude each other: a year is charged once (確定 or 概算) and settled once."""
FREEZING_RUN_KINDS = (RunKind.final, RunKind.settlement)
"""A posted run of these kinds fixes the year's cost items and grants; under a 概算 they stay open for the 精算."""
