"""A labelled enum: each member carries its Japanese and English words (as Django's ``TextChoices``).

A state and its words belong together (docs/STYLE.md): instead of an ``Enum`` and, beside it, a dict
of its labels (where a new member can be added without a label), each member is declared with its
value and its label pair::

    class Status(LabelledEnum):
        open = "open", "未対応", "Open"
        done = "done", "完了", "Done"

    Status.open.value == "open"; Status.open.ja == "未対応"; Status.open.label == ("未対応", "Open")

Members are ``str`` (they compare equal to their value and store as it, :func:`core.db.enum_column`).
:func:`labels` gives the ``{member: (ja, en)}`` mapping the older code reads (e.g.
:class:`core.lifecycle.Lifecycle`'s labels).
"""

from __future__ import annotations

import enum


class LabelledEnum(str, enum.Enum):
    """A string enum whose members are declared as ``name = value, ja, en``."""

    ja: str
    en: str

    def __new__(cls, value: str, ja: str, en: str) -> "LabelledEnum":
        if not (isinstance(value, str) and ja and en):
            raise TypeError(f"{cls.__name__}: a member is declared as value, Japanese label, English label")
        member = str.__new__(cls, value)
        member._value_ = value
        member.ja, member.en = ja, en
        return member

    @property
    def label(self) -> tuple[str, str]:
        """(Japanese, English)."""
        return self.ja, self.en


def labels(enum_cls: type[LabelledEnum]) -> dict[LabelledEnum, tuple[str, str]]:
    """``{member: (ja, en)}`` for every member, in declaration order."""
    return {member: member.label for member in enum_cls}
