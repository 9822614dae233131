"""core.labelled: each member carries its Japanese and English words; a member declared without them is
refused when the class is made (so a new state can never lack its label)."""

from __future__ import annotations

import pytest

from core.labelled import LabelledEnum, labels
from secretariat.events import RegistrationStatus
from secretariat.inquiries import INQUIRIES, InquiryStatus


class Colour(LabelledEnum):
    red = "red", "赤", "Red"
    blue = "blue", "青", "Blue"


def test_a_member_is_its_value_and_carries_its_words():
    assert Colour("red") is Colour.red and Colour.red == "red" and Colour.red.value == "red"
    assert (Colour.blue.ja, Colour.blue.en, Colour.blue.label) == ("青", "Blue", ("青", "Blue"))
    assert labels(Colour) == {Colour.red: ("赤", "Red"), Colour.blue: ("青", "Blue")}


def test_a_member_without_its_words_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError):
        class Unlabelled(LabelledEnum):  # noqa: F841
            green = "green"
    with pytest.raises(TypeError):
        class HalfLabelled(LabelledEnum):  # noqa: F841
            green = "green", "緑", ""


def test_the_desks_states_say_their_words_and_refusals_use_them():
    assert (InquiryStatus.answered.ja, RegistrationStatus.waitlisted.ja) == ("回答済", "キャンセル待ち")
    refusal = INQUIRIES.refuse("close", InquiryStatus.received, None)
    assert "「受付」" in refusal.message_ja and "received" in refusal.message_en
