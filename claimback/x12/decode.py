"""Turn the raw bytes of an inbox file into text, whatever encoding the sender used.

Real 835/837 files arrive as ASCII, UTF-8 with or without a BOM, UTF-16 (even little-endian
without a BOM) or latin-1. X12 delimiters are ASCII, so any of these decodes to text whose
delimiters can be read from the ISA; a byte that is not valid UTF-8 falls back to latin-1
rather than failing the file.
"""
from __future__ import annotations


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Return (text, encoding name) for `raw`."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16", "replace"), "utf-16"
    if _looks_utf16le(raw):
        return raw.decode("utf-16-le", "replace"), "utf-16-le"
    if _looks_utf16be(raw):
        return raw.decode("utf-16-be", "replace"), "utf-16-be"
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
        try:
            return raw.decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "latin-1"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _looks_utf16le(raw: bytes) -> bool:
    # ASCII text in UTF-16LE has a zero in every odd byte; sample the start only.
    head = raw[:64]
    return len(head) >= 8 and head[1::2].count(0) == len(head[1::2]) and head[0::2].count(0) == 0


def _looks_utf16be(raw: bytes) -> bool:
    head = raw[:64]
    return len(head) >= 8 and head[0::2].count(0) == len(head[0::2]) and head[1::2].count(0) == 0
