"""Quantities as people read them: one home for how a size is written on pages and in documents."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def size_text(size: int | None) -> str:
    """A size in bytes as people read it, in binary units: ``512 B``, ``1.5 KiB``, ``20.3 MiB``, ``1.2 GiB``,
    ``150 GiB`` (one decimal below 100 of a unit, none above); empty for None."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size:,} B"
    value = float(size)
    for unit in _UNITS:  # the largest unit takes what is beyond it
        value /= 1024
        if value < 1024:
            break
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
