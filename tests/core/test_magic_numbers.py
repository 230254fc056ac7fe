"""The sniffer's magic-number matching answers exactly what puremagic's own does."""

from __future__ import annotations

from collections import Counter

import puremagic
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.core.files import ContentSniffer, magic_matches

TEXT = b"The export stops at row 4,096 and the file is cut off.\n" * 60
BINARY = bytes(range(256)) * 16


def puremagic_matches(sample: bytes) -> list[puremagic.PureMagicWithConfidence]:
    try:
        return puremagic.magic_string(sample)
    except puremagic.PureError:
        return []


def assert_same(sample: bytes) -> None:
    ours, theirs = magic_matches(sample), puremagic_matches(sample)
    # puremagic keeps multi-part matches in a set, so the order of equal ranks may differ.
    assert Counter(ours) == Counter(theirs)
    assert [(m.confidence, len(m.byte_match)) for m in ours] == [
        (m.confidence, len(m.byte_match)) for m in theirs
    ]
    if len({(m.confidence, len(m.byte_match)) for m in theirs}) == len(theirs):
        assert ours == theirs


def planted(number: bytes, offset: int, background: bytes) -> bytes:
    if offset < 0:
        end = len(background) + offset
        return background[:end] + number + background[end + len(number) :]
    return background[:offset] + number + background[offset + len(number) :]


def test_every_header_number_is_found_as_puremagic_finds_it() -> None:
    for place, row in enumerate(puremagic.magic_header_array):
        background = TEXT if place % 2 else BINARY
        size = max(len(background), row.offset + len(row.byte_match) + 16)
        assert_same(planted(row.byte_match, row.offset, background.ljust(size, b" ")))


def test_footer_and_multi_part_numbers_are_found_as_puremagic_finds_them() -> None:
    for row in puremagic.magic_footer_array:
        assert_same(planted(row.byte_match, row.offset, TEXT))
    for first, rows in puremagic.multi_part_dict.items():
        heads = [r for r in puremagic.magic_header_array if r.byte_match == first]
        for head in heads[:1]:
            sample = planted(first, head.offset, BINARY * 3)
            for row in rows:
                assert_same(planted(row.byte_match, row.offset, sample))


def test_plain_files_match_nothing_or_the_same() -> None:
    for sample in (TEXT, BINARY, b"x", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"PK\x03\x04" + BINARY):
        assert_same(sample)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=3000))
def test_any_bytes_match_as_puremagic_matches_them(sample: bytes) -> None:
    assert_same(sample)


def test_the_sniffer_still_judges_by_the_best_match() -> None:
    sniffer = ContentSniffer()
    sniffer.feed(b"\x89PNG\r\n\x1a\n" + BINARY)
    assert sniffer.content_type("notes.txt") == "image/png"
    text = ContentSniffer()
    text.feed(b"BM is not a bitmap here, just a note.\n")
    assert text.content_type("note.txt") == "text/plain"
