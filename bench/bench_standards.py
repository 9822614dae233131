"""Benchmark: the check of a standard dataset's file (issue 37, items 1 and 6), beside frictionless's
own validation of the same file against the same published Table Schema (the limit measured in the
same run: what ``frictionless validate --schema <url> file.csv`` costs, without renkei's reader, its
custom checks and its words).

Files of ``--rows`` AED rows (default 20,000, about 3 MB: the size of a large city's list), each
in the current item names and in the older 推奨データセット names (checked against the current
definition first, then the older one), clean and with a fault in every tenth row. Medians of
``--rounds`` alternating rounds, after one untimed round of each side (the first call of either pays
frictionless's plugin loading and lazy imports: timed, it fell on whichever side ran first). Each
side builds its Schema inside the timing, and each reads the whole file: frictionless alone is run with
``limit_errors=0`` (by default it stops at 1,000 errors, which a faulty file of 20,000 rows reaches halfway;
renkei counts every problem). Wall time and this process's CPU time
(``time.process_time``, which the shared machine's other load does not move). No database.

    python bench/bench_standards.py [--rows 20000] [--rounds 3] [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

def aed_file(rows: int, *, older: bool, faulty: bool) -> bytes:
    from core import codes

    corporate = codes.corporate_number_of_local_government("431001")
    if older:
        header = "都道府県コード又は市区町村コード,NO,都道府県名,市区町村名,名称,名称_カナ,住所,緯度,経度,設置位置,法人番号\n"
        place = "熊本県,熊本市"
    else:
        header = "全国地方公共団体コード,ID,地方公共団体名,名称,名称_カナ,所在地_連結表記,緯度,経度,設置位置,法人番号\n"
        place = "熊本県熊本市"
    lines = []
    for i in range(rows):
        kana = "ｸﾏﾓﾄ" if faulty and i % 10 == 0 else "クマモトシヤクショ"
        lines.append(f"431001,{i},{place},施設{i},{kana},熊本市中央区{i},32.8,130.7,1階,{corporate}\n")
    return (header + "".join(lines)).encode("utf-8")


def timed(work) -> tuple[float, float]:
    """Wall and CPU milliseconds of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    common.add_smoke_option(parser, "100 rows, one round")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.rounds = 100, 1

    from frictionless import Resource, Schema

    from catalogue import standards

    kind = standards.kind_of("aed")
    cases = {f"{form}, {state}": (aed_file(args.rows, older=form == "older names", faulty=state == "faulty"),
                                  standards.CURRENT if form == "current names" else standards.OLDER)
             for form in ("current names", "older names") for state in ("clean", "faulty")}

    def alone(raw: bytes, version: str) -> None:
        descriptor = standards.schema_document("aed", version)
        Resource(data=raw, format="csv", encoding="utf-8", schema=Schema.from_descriptor(descriptor)).validate(limit_errors=0)

    for raw, version in cases.values():  # untimed: the first calls' start-up is neither side's cost
        alone(raw, version)
        standards.check_file(kind, raw)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases} | {f"{name} alone": [] for name in cases}
    for _ in range(args.rounds):
        for name, (raw, version) in cases.items():
            samples[f"{name} alone"].append(timed(lambda: alone(raw, version)))
            samples[name].append(timed(lambda: standards.check_file(kind, raw)))
    print(f"standards check, AED, {args.rows:,} rows, {args.rounds} rounds {common.noisy_machine_note()}")
    for clock, index in (("wall", 0), ("CPU", 1)):
        print(f"{clock} time:")
        for name in cases:
            common.report(name, common.median(s[index] for s in samples[name]),
                          common.median(s[index] for s in samples[f"{name} alone"]), None, "ms",
                          higher_is_better=False, width=30)


if __name__ == "__main__":
    main()
