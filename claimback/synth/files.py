"""Interchange envelopes and the real-world formatting variety of the synthetic files.

A file is built with the canonical delimiters and then translated to its style: most files use
`*` `:` `~`, others put a line break (LF or CRLF) after every terminator, use `|` and `>` as
element and component separators, or end segments with a bare newline, as the real samples do
(x12-anchors §7). Some files carry several ST in one GS, some several interchanges. The choice
is drawn from the seed, but the first files of each kind cycle through every style so even a
small inbox shows all of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from claimback.synth.render import ymd


@dataclass(frozen=True)
class Style:
    name: str
    # (canonical, replacement) pairs; str.replace is much faster than str.translate here
    replacements: tuple[tuple[str, str], ...]


STANDARD = Style("standard", ())
LF = Style("lf_after_terminator", (("~", "~\n"),))
CRLF = Style("crlf_after_terminator", (("~", "~\r\n"),))
PIPE = Style("pipe_elements", (("*", "|"), (":", ">"), ("~", "~\n")))
PIPE_FLAT = Style("pipe_elements_one_line", (("*", "|"), (":", ">")))
NEWLINE_ONLY = Style("newline_terminator", (("~", "\n"),))

STYLES = (STANDARD, LF, CRLF, PIPE, PIPE_FLAT)
STYLE_WEIGHTS = np.array([0.45, 0.27, 0.12, 0.10, 0.06])
EXTENSIONS_835 = (".835", ".txt", ".edi", ".x12", ".dat")
EXTENSIONS_837 = (".837", ".txt", ".edi", ".x12", ".dat")
EXTENSION_WEIGHTS = np.array([0.4, 0.2, 0.2, 0.1, 0.1])

VERSION_835 = "005010X221A1"
VERSION_837 = {"P": "005010X222A1", "I": "005010X223A2", "D": "005010X224A2"}


class Controls:
    """Interchange, group and transaction control numbers, unique across the whole run."""

    def __init__(self) -> None:
        self.interchange = 0
        self.group = 0
        self.transaction = 0

    def next_interchange(self) -> int:
        self.interchange += 1
        return self.interchange

    def next_group(self) -> int:
        self.group += 1
        return self.group

    def next_transaction(self) -> str:
        self.transaction += 1
        return f"{self.transaction % 1_000_000_000:04d}"


def pick_style(rng: np.random.Generator, ordinal: int) -> tuple[Style, int]:
    """The file's style and extension index; the first files cycle through every option."""
    if ordinal < len(STYLES):
        return STYLES[ordinal], ordinal
    style = STYLES[int(rng.choice(len(STYLES), p=STYLE_WEIGHTS))]
    return style, int(rng.choice(len(EXTENSION_WEIGHTS), p=EXTENSION_WEIGHTS))


def isa(sender: str, receiver: str, day: int, minute: int, control: int) -> str:
    """A fixed-width ISA (106 characters with its terminator)."""
    date = ymd(day)[2:]
    return (f"ISA*00*          *00*          *ZZ*{sender:<15.15}*ZZ*{receiver:<15.15}*{date}*"
            f"{minute // 60 % 24:02d}{minute % 60:02d}*^*00501*{control:09d}*0*P*:~")


def interchange(functional_id: str, version: str, sender: str, receiver: str, day: int,
                transactions: list[tuple[str, str]], controls: Controls) -> str:
    """ISA/GS around transaction bodies [(control number, ST..SE text)], with GE/IEA counts."""
    icn = controls.next_interchange()
    gcn = controls.next_group()
    minute = (icn * 37) % 1440
    head = isa(sender, receiver, day, minute, icn)
    gs = (f"GS*{functional_id}*{sender}*{receiver}*{ymd(day)}*{minute // 60:02d}{minute % 60:02d}*"
          f"{gcn}*X*{version}~")
    body = "".join(t for _, t in transactions)
    return f"{head}{gs}{body}GE*{len(transactions)}*{gcn}~IEA*1*{icn:09d}~"


def transaction(header: str, claims: str, trailer: str, control: str) -> str:
    """ST..SE with SE01 counting every segment from ST to SE inclusive."""
    text = header + claims + trailer
    return f"{text}SE*{text.count('~') + 1}*{control}~"


def finish(text: str, style: Style) -> bytes:
    """The file's bytes in its style. Synthetic values never contain a delimiter character."""
    for canonical, replacement in style.replacements:
        text = text.replace(canonical, replacement)
    return text.encode("ascii")
