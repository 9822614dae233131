"""The common ID's check character (core.codes): of the ID's own alphabet, catching every single wrong
character and every swap of neighbours; IDs stored with the former check character stay valid."""

import secrets

from core.codes import (COMMON_ID_BODY_ALPHABET, common_id_check_character, is_common_id,
                        legacy_common_id_check_character)


def _id(body: str) -> str:
    return body + common_id_check_character(body)


def test_the_check_character_is_never_a_letter_the_id_avoids():
    bodies = ["".join(secrets.choice(COMMON_ID_BODY_ALPHABET) for _ in range(15)) for _ in range(2000)]
    # bodies whose former check character was I, L, O or U now end in a letter of the alphabet
    assert {legacy_common_id_check_character(body) for body in bodies} & set("ILOU")
    assert {common_id_check_character(body) for body in bodies} <= set(COMMON_ID_BODY_ALPHABET)
    assert all(is_common_id(_id(body)) for body in bodies)


def test_every_single_wrong_character_and_every_swap_of_neighbours_is_caught():
    for _ in range(20):
        common_id = _id("".join(secrets.choice(COMMON_ID_BODY_ALPHABET) for _ in range(15)))
        for position in range(16):
            for character in COMMON_ID_BODY_ALPHABET:
                if character != common_id[position]:
                    wrong = common_id[:position] + character + common_id[position + 1:]
                    assert common_id_check_character(wrong[:-1]) != wrong[-1], wrong
        for position in range(15):
            a, b = common_id[position], common_id[position + 1]
            if a != b:
                swapped = common_id[:position] + b + a + common_id[position + 2:]
                assert common_id_check_character(swapped[:-1]) != swapped[-1], swapped


def test_an_id_issued_with_the_former_check_character_stays_valid():
    body = next(body for body in ("".join(secrets.choice(COMMON_ID_BODY_ALPHABET) for _ in range(15))
                                  for _ in range(10000)) if legacy_common_id_check_character(body) in "ILOU")
    stored = body + legacy_common_id_check_character(body)
    assert is_common_id(stored, stored=True)
    assert not is_common_id(stored)  # typed in, an ID is checked by the alphabet's own character only
    assert not is_common_id(body + "I" if stored[-1] != "I" else body + "L", stored=True)
    assert not is_common_id(stored.replace(stored[0], "I", 1), stored=True)  # the body never holds I, L, O, U
