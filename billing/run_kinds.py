"""The kinds of allocation run (確定, 概算, 精算) and the rules that read them (one home)."""

from __future__ import annotations

from core.labelled import LabelledEnum


class RunKind(LabelledEnum):
    """What a run charges: the year's shares once (確定), a provisional charge before the year's figures are
    fixed (概算), or the settlement of a provisional charge once they are (精算: only the differences)."""

    final = "final", "確定", "Final"
    provisional = "provisional", "概算", "Provisional"
    settlement = "settlement", "精算", "Settlement"


RUN_KIND_SLOT = {RunKind.final: "charge", RunKind.provisional: "charge", RunKind.settlement: "settlement"}
"""Posted runs of a year in one slot exclude each other: a year is charged once (確定 or 概算) and settled once."""
FREEZING_RUN_KINDS = (RunKind.final, RunKind.settlement)
"""A posted run of these kinds fixes the year's cost items and grants; under a 概算 they stay open for the 精算."""
