"""core.lifecycle: a move is allowed exactly from the statuses its table names, and a refusal says
in both languages which status the subject is in and which move was refused."""

import enum

import pytest

from core.errors import Conflict, Invalid
from core.lifecycle import GuardRefused, IllegalMove, Lifecycle, Move, WhyNot, require_reason


class Door(str, enum.Enum):
    closed = "closed"
    open = "open"
    locked = "locked"
    removed = "removed"


LABELS = {Door.closed: ("閉", "Closed"), Door.open: ("開", "Open"), Door.locked: ("施錠", "Locked"),
          Door.removed: ("撤去", "Removed")}


def _unlocked_key(door, key):
    return None if key == "right" else WhyNot("The key does not fit.", "鍵が合いません。",
                                              ({"field": "key", "message_en": "wrong", "message_ja": "違う"},),
                                              {"key": key})


def doors() -> Lifecycle:
    return Lifecycle("扉", "door", Door, LABELS, (
        Move("open", frozenset({Door.closed}), Door.open, "開ける", "open"),
        Move("close", frozenset({Door.open}), Door.closed, "閉める", "close"),
        Move("lock", frozenset({Door.closed}), Door.locked, "施錠する", "lock"),
        Move("unlock", frozenset({Door.locked}), Door.closed, "解錠する", "unlock", _unlocked_key),
        Move("remove", frozenset({Door.closed, Door.open, Door.locked}), Door.removed, "撤去する", "remove",
             reason_required=True),
    ), initial=(Door.closed,))


# the table above, written out by hand: (move, from) -> to
ALLOWED = {("open", Door.closed): Door.open, ("close", Door.open): Door.closed, ("lock", Door.closed): Door.locked,
           ("unlock", Door.locked): Door.closed, ("remove", Door.closed): Door.removed,
           ("remove", Door.open): Door.removed, ("remove", Door.locked): Door.removed}


@pytest.mark.parametrize("status", list(Door))
@pytest.mark.parametrize("name", ["open", "close", "lock", "unlock", "remove"])
def test_every_move_from_every_status_is_allowed_exactly_where_the_table_says(name, status):
    lifecycle = doors()
    assert lifecycle.allows(name, status) == ((name, status) in ALLOWED)
    assert ((name, status) in ALLOWED) == (name in [m.name for m in lifecycle.moves_from(status)])
    if (name, status) in ALLOWED:
        assert lifecycle.move(name, status.value, None, "right").target is ALLOWED[(name, status)]
        return
    with pytest.raises(IllegalMove) as refused:
        lifecycle.move(name, status, None, "right")
    error = refused.value
    assert isinstance(error, Conflict) and error.kind == "conflict"
    assert error.details == {"status": status.value, "move": name}
    ja, en = LABELS[status]
    move = lifecycle.moves[name]
    assert error.message_en == (f"The door is {en.lower()}; it cannot {move.label_en} from that status. "
                                "Nothing was changed.")
    assert error.message_ja == f"この扉は「{ja}」のため「{move.label_ja}」できません。変更は行っていません。"


def test_the_guard_is_asked_only_where_the_table_allows_and_says_why_not():
    lifecycle = doors()
    with pytest.raises(GuardRefused) as refused:
        lifecycle.move("unlock", Door.locked, None, "wrong")
    error = refused.value
    assert isinstance(error, IllegalMove)
    assert (error.message_en, error.message_ja) == ("The key does not fit.", "鍵が合いません。")
    assert error.problems == [{"field": "key", "message_en": "wrong", "message_ja": "違う"}]
    assert error.details == {"status": "locked", "move": "unlock", "key": "wrong"}
    # from a status the table does not allow, the table answers first (the guard is not asked)
    with pytest.raises(IllegalMove) as refused:
        lifecycle.move("unlock", Door.open, None, "wrong")
    assert not isinstance(refused.value, GuardRefused)


def test_a_lifecycle_may_refuse_in_its_own_words_but_always_with_an_illegal_move():
    class Stuck(IllegalMove):
        pass

    own = Lifecycle("扉", "door", Door, LABELS, (Move("open", frozenset({Door.closed}), Door.open, "開ける", "open"),),
                    refusal=lambda move, status, door: Stuck(f"{door} is {status.value}", f"{door}は{status.value}"))
    with pytest.raises(Stuck, match="front is locked"):
        own.move("open", Door.locked, "front")
    wrong = Lifecycle("扉", "door", Door, LABELS, (Move("open", frozenset({Door.closed}), Door.open, "開ける", "open"),),
                      refusal=lambda move, status, door: Conflict("no", "いいえ"))
    with pytest.raises(TypeError):
        wrong.move("open", Door.locked)


def test_a_table_names_its_statuses_and_refuses_to_be_declared_wrong():
    lifecycle = doors()
    assert lifecycle.mentioned() == frozenset(Door)
    with pytest.raises(KeyError):
        lifecycle.move("paint", Door.closed)
    with pytest.raises(ValueError, match="twice"):
        Lifecycle("扉", "door", Door, LABELS, (Move("open", frozenset({Door.closed}), Door.open, "a", "a"),
                                              Move("open", frozenset({Door.locked}), Door.open, "a", "a")))
    with pytest.raises(ValueError, match="Door values"):
        Lifecycle("扉", "door", Door, LABELS, (Move("open", frozenset({"closed"}), Door.open, "a", "a"),))


def test_a_move_that_needs_a_reason_is_refused_without_one():
    move = doors().moves["remove"]
    with pytest.raises(Invalid) as refused:
        require_reason(move, "   ")
    assert refused.value.problems[0]["field"] == "reason"
    assert refused.value.message_ja == "理由を入力してください。"
    assert require_reason(move, "  rotten  ") == "rotten"
    assert require_reason(doors().moves["open"], None) == ""
