"""What an allocation run kept of its inputs (its snapshot), read once into a typed value.

A run stores the policy, the cost items and the grants it was computed from as JSON
(``AllocationRun.snapshot_json``, written by :mod:`billing.allocation_runs`); statements read it
through :meth:`RunSnapshot.parse` instead of looking keys up here and there.
"""

from __future__ import annotations

import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class CostLine:
    name: str
    category_ja: str
    amount: int


@dataclasses.dataclass(frozen=True)
class GrantLine:
    name: str
    rate: str
    amount: int


@dataclasses.dataclass(frozen=True)
class RunSnapshot:
    policy_name: str
    policy_version: int
    policy_in_words: str
    resolution_ref: str | None
    total: int | None  # 負担対象額; runs older than the key have none (the run's own total stands in)
    cost_items: tuple[CostLine, ...]
    grants: tuple[GrantLine, ...]

    @property
    def cost_total(self) -> int:
        return sum(item.amount for item in self.cost_items)

    def year_total(self, run_total: int) -> int:
        """負担対象額: the snapshot's, else (a run older than the key) the run's own total."""
        return run_total if self.total is None else self.total

    @classmethod
    def parse(cls, snapshot_json: str) -> RunSnapshot:
        snapshot = json.loads(snapshot_json)
        policy = snapshot["policy"]
        return cls(
            policy_name=policy["name"], policy_version=policy["version"], policy_in_words=policy["in_words"],
            resolution_ref=policy.get("resolution_ref"), total=snapshot.get("total"),
            cost_items=tuple(CostLine(item["name"], item["category_ja"], item["amount"]) for item in snapshot["cost_items"]),
            grants=tuple(GrantLine(grant["name"], grant["rate"], grant["amount"]) for grant in snapshot.get("grants", [])),
        )
