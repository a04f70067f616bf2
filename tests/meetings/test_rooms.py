"""Room names: ``^visio-[a-z2-7]{26}$``, 128 random bits, nothing personal."""

from __future__ import annotations

import base64
import os
import re
import string
from collections.abc import Callable
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visio.meetings.rooms import ROOM_NAME_LENGTH, is_room_name, new_room_name

# The one format, written out independently of the module's own pattern.
ROOM_FORMAT = re.compile(r"^visio-[a-z2-7]{26}$")


def fixed(raw: bytes) -> Callable[[int], bytes]:
    """A byte source that always returns `raw`, whatever it is asked for."""

    def source(n: int) -> bytes:
        return raw

    return source


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # all zero bits: the first base32 letter, 26 times
        (bytes(16), "visio-" + "a" * 26),
        # all one bits: the last character keeps 3 data bits and 2 zero bits -> "4"
        (b"\xff" * 16, "visio-" + "7" * 25 + "4"),
        # a counting pattern, checked against the standard library's encoder
        (bytes(range(16)), "visio-aaaqeayeaudaocajbifqydiob4"),
        # a leaky source returning someone's e-mail: the name still does not spell it out
        (b"dupont.jean@mail", "visio-mr2xa33ooqxguzlbnzag2yljnq"),
    ],
)
def test_new_room_name_encodes_the_bytes(raw: bytes, expected: str) -> None:
    name = new_room_name(fixed(raw))
    assert name == expected
    assert ROOM_FORMAT.match(name)
    assert len(name) == ROOM_NAME_LENGTH == 32
    assert "dupont" not in name and "jean" not in name


def test_new_room_name_asks_for_16_bytes() -> None:
    asked: list[int] = []

    def source(n: int) -> bytes:
        asked.append(n)
        return os.urandom(n)

    new_room_name(source)
    assert asked == [16]


@pytest.mark.parametrize(
    "raw",
    [
        # one byte short: 120 bits is below the promise
        bytes(15),
        # one byte too many: the name would no longer have a fixed length
        bytes(17),
        # an exhausted source
        b"",
    ],
)
def test_new_room_name_refuses_a_source_of_the_wrong_size(raw: bytes) -> None:
    with pytest.raises(ValueError, match="exactly 16 bytes"):
        new_room_name(fixed(raw))


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        # a name new_room_name produces
        ("visio-aaaqeayeaudaocajbifqydiob4", True),
        # the all-ones name, whose last character is the highest canonical one
        ("visio-" + "7" * 25 + "4", True),
        # uppercase: Jitsi lowercases room names, so two spellings would meet in one room
        ("visio-AAAQEAYEAUDAOCAJBIFQYDIOB4", False),
        # base32 padding kept
        ("visio-aaaqeayeaudaocajbifqydiob4======", False),
        # another prefix
        ("visi0-aaaqeayeaudaocajbifqydiob4", False),
        # no prefix at all
        ("aaaqeayeaudaocajbifqydiob4", False),
        # one character short
        ("visio-aaaqeayeaudaocajbifqydiob", False),
        # one character too many
        ("visio-aaaqeayeaudaocajbifqydiob4a", False),
        # last character with non-zero padding bits: not the canonical spelling of 16 bytes
        ("visio-" + "a" * 25 + "b", False),
        # digits 0, 1, 8, 9 are not base32
        ("visio-" + "0" * 26, False),
        # a trailing newline must not slip through a `$` anchor
        ("visio-aaaqeayeaudaocajbifqydiob4\n", False),
        # free text, as a hand-made room would be
        ("rdv-caf-dupont-jean", False),
        # empty
        ("", False),
    ],
)
def test_is_room_name(candidate: str, expected: bool) -> None:
    assert is_room_name(candidate) is expected


@given(st.binary(min_size=16, max_size=16))
def test_every_16_bytes_give_a_valid_name_that_decodes_back(raw: bytes) -> None:
    name = new_room_name(fixed(raw))
    assert ROOM_FORMAT.match(name)
    assert is_room_name(name)
    # URL-safe as is: quoting changes nothing
    assert quote(name, safe="") == name
    # injective: the name carries all 128 bits
    assert base64.b32decode(name.removeprefix("visio-").upper() + "======") == raw


@given(st.integers(min_value=1, max_value=200))
def test_names_from_os_urandom_are_unique_and_well_formed(count: int) -> None:
    names = [new_room_name(os.urandom) for _ in range(count)]
    assert len(set(names)) == count
    assert all(ROOM_FORMAT.match(name) for name in names)


def test_twenty_thousand_names_do_not_collide() -> None:
    names = {new_room_name(os.urandom) for _ in range(20_000)}
    assert len(names) == 20_000


# Names, e-mail addresses, phone numbers: what a careless implementation might put in a room.
personal_text = st.one_of(
    st.text(alphabet=string.ascii_letters + " -'éèçÉ", min_size=6, max_size=40),
    st.emails(),
    st.from_regex(r"0[1-9]( ?[0-9]{2}){4}", fullmatch=True),
)


@given(personal_text)
def test_a_name_never_contains_personal_text(text: str) -> None:
    # The fixed prefix is no data (a text "visio-" is trivially in every name): look at the
    # random part, the only one that could carry anything.
    random_part = new_room_name(os.urandom).removeprefix("visio-")
    assert text.lower() not in random_part
    assert text.lower().replace(" ", "") not in random_part


@given(st.text(alphabet=string.ascii_lowercase, min_size=6, max_size=16))
def test_even_a_leaky_source_is_not_spelled_out(text: str) -> None:
    # If the byte source ever handed over personal data, base32 would still not copy it
    # (the text is repeated to fill 16 bytes: zero padding would itself encode as "aaaa…").
    raw = (text.encode() * 16)[:16]
    assert text not in new_room_name(fixed(raw))
