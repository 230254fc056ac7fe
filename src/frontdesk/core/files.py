"""What an uploaded file is and how it is named: judged from its bytes, never from the client."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import defaultdict
from functools import cache
from pathlib import PurePosixPath
from urllib.parse import quote

import puremagic
from puremagic import PureMagic, PureMagicWithConfidence

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"
FALLBACK_FILENAME = "attachment"
MAX_FILENAME_LENGTH = 255
#: At least what puremagic reads from each end of a file (36,870 and 516 bytes in 1.30).
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 1024
#: A magic number this short (confidence below 0.4 is three bytes or fewer) is no evidence
#: against bytes that are valid text: "BM..." is far likelier a note than a bitmap.
WEAK_MATCH = 0.4

#: Types a browser may execute or render as a document: never served as themselves.
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "application/xslt+xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/javascript",
        "text/ecmascript",
        "text/css",
        "application/x-shockwave-flash",
        "application/vnd.adobe.flash.movie",
        "text/x-component",
        "multipart/x-mixed-replace",
        "application/wasm",
    }
)
_ACTIVE_WORDS = ("html", "script")
_ACTIVE_SUFFIXES = ("+xml", "/xml")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_UNSAFE_CHARACTERS = re.compile(r'[<>:"/\\|?*]')
_ASCII_SAFE = re.compile(r"[A-Za-z0-9 ._()+-]")
#: Control bytes that text does not hold (tab, newlines, form feed and escape it may).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


class ContentSniffer:
    """Learns a file's content type from its bytes as they stream past.

    Feed every chunk in order, then ask `content_type()`. Known magic numbers win; otherwise
    valid UTF-8 without binary control bytes is `text/plain`, anything else
    `application/octet-stream`.
    """

    def __init__(self) -> None:
        self._head = bytearray()
        self._tail = b""
        self._size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._is_text = True

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def feed(self, chunk: bytes) -> None:
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self._tail = (self._tail + chunk[-TAIL_BYTES:])[-TAIL_BYTES:]
        self._size += len(chunk)
        if self._is_text:
            self._is_text = _decodes(self._decoder, chunk, final=False)

    def content_type(self, filename: str) -> str:
        """The sniffed type; `filename` only breaks ties between equally good byte matches."""
        is_text = self._is_text and _decodes(self._decoder, b"", final=True)
        sample = bytes(self._head)
        if self._size > len(self._head):
            sample += self._tail
        sniffed = _magic_type(sample, filename)
        if sniffed is not None and not (is_text and sniffed[1] < WEAK_MATCH):
            return sniffed[0]
        return TEXT_PLAIN if is_text else OCTET_STREAM


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool) -> bool:
    if _BINARY_BYTES.search(chunk):
        return False
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _magic_type(sample: bytes, filename: str) -> tuple[str, float] | None:
    """The best byte match as (type, confidence). No filename goes to the matching: given one,
    puremagic answers from the extension alone when no bytes match, and that is the client's
    word."""
    if not sample:
        return None
    matches = [m for m in magic_matches(sample) if m.mime_type]
    if not matches:
        return None
    best = [m for m in matches if m.confidence == matches[0].confidence]
    extension = PurePosixPath(filename.lower()).suffix
    chosen = next((m for m in best if m.extension == extension), best[0])
    return chosen.mime_type, chosen.confidence


def magic_matches(sample: bytes) -> list[PureMagicWithConfidence]:
    """What `puremagic.magic_string(sample)` answers (best first; none instead of its error),
    found through an index of its magic numbers by position and length: puremagic compares
    each of its ~1,400 header numbers in turn, about 2 ms for a small text file."""
    head, foot = sample[: puremagic.main.max_head], sample[-puremagic.main.max_foot :]
    index = _header_index()
    found: list[tuple[int, PureMagic]] = []
    for (offset, length), rows in index.items():
        if offset + length <= len(head):
            found += rows.get(head[offset : offset + length], [])
    matches = [row for _, row in sorted(found, key=lambda pair: pair[0])]
    for row in puremagic.magic_footer_array:
        end = row.offset + len(row.byte_match)
        if (foot[row.offset : end] if end != 0 else foot[row.offset :]) == row.byte_match:
            matches.append(row)
    matches += _multi_part_matches(matches, head, foot)
    return _ranked(matches)


@cache
def _header_index() -> dict[tuple[int, int], dict[bytes, list[tuple[int, PureMagic]]]]:
    """puremagic's header numbers by (offset, length), then bytes; each with its place in
    puremagic's list, so that matches keep puremagic's order."""
    index: dict[tuple[int, int], dict[bytes, list[tuple[int, PureMagic]]]] = defaultdict(dict)
    for place, row in enumerate(puremagic.magic_header_array):
        key = (row.offset, len(row.byte_match))
        index[key].setdefault(row.byte_match, []).append((place, row))
    return dict(index)


def _multi_part_matches(matches: list[PureMagic], head: bytes, foot: bytes) -> list[PureMagic]:
    """Longer numbers that extend a match (puremagic's multi-part table), as puremagic finds
    them."""
    found: set[PureMagic] = set()
    for matched in matches:
        for row in puremagic.multi_part_dict.get(matched.byte_match, []):
            end = row.offset + len(row.byte_match)
            if row.offset < 0:
                area = foot[row.offset : end] if end != 0 else foot[row.offset :]
                if area == row.byte_match:
                    found.add(row._replace(byte_match=matched.byte_match + row.byte_match))
            elif end <= len(head) and head[row.offset : end] == row.byte_match:
                found.add(row._replace(byte_match=head[matched.offset : end]))
    return list(found)


def _ranked(matches: list[PureMagic]) -> list[PureMagicWithConfidence]:
    """puremagic's confidence (by the length of the number matched) and order."""
    ranked = [
        PureMagicWithConfidence(
            confidence=0.8 if len(m.byte_match) >= 9 else float(f"0.{len(m.byte_match)}"),
            **m._asdict(),
        )
        for m in matches
    ]
    ranked.sort(key=lambda m: (m.confidence, len(m.byte_match)), reverse=True)
    ranked.sort(key=lambda m: m.confidence, reverse=True)
    return ranked


def is_active_content(content_type: str) -> bool:
    """Whether a browser could run or render the type as a page (script, markup, styles)."""
    essence = content_type.split(";", 1)[0].strip().lower()
    return (
        essence in ACTIVE_TYPES
        or essence.endswith(_ACTIVE_SUFFIXES)
        or any(word in essence for word in _ACTIVE_WORDS)
    )


def served_content_type(content_type: str) -> str:
    """The Content-Type to send a stored file with: active content only ever as bytes."""
    if is_active_content(content_type):
        return OCTET_STREAM
    if content_type == TEXT_PLAIN:
        return "text/plain; charset=utf-8"
    return content_type


def safe_filename(raw: str | None) -> str:
    """A display name without a path, control or direction characters, or characters that
    filesystems refuse; at most 255 characters, keeping the extension; never empty."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    name = _UNSAFE_CHARACTERS.sub("_", name).strip(" .")
    if len(name) > MAX_FILENAME_LENGTH:
        suffix = PurePosixPath(name).suffix
        suffix = suffix if len(suffix) <= 16 else ""
        name = name[: MAX_FILENAME_LENGTH - len(suffix)].rstrip(" .") + suffix
    return name or FALLBACK_FILENAME


def ascii_filename(name: str) -> str:
    """The name for clients that ignore `filename*`: accents dropped, other characters `_`."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(
        c if _ASCII_SAFE.fullmatch(c) else "_"
        for c in decomposed
        if unicodedata.category(c) != "Mn"
    )
    return kept.strip(" .") or FALLBACK_FILENAME


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII `filename` and the exact name as RFC 5987 `filename*`."""
    return (
        f'attachment; filename="{ascii_filename(name)}"; '
        f"filename*=UTF-8''{quote(safe_filename(name), safe='')}"
    )
