"""Build a large 835 (≥ 50 MB by default) by concatenating real corpus interchanges.

Takes every 835 sample that starts a proper interchange (ISA … IEA) with the common
delimiters (* element, ~ terminator), cuts it from its ISA to the end, and repeats the set
until the target size is reached — the shape of a clearinghouse's daily ERA drop (many
interchanges per file). Written to bench/results/ (not committed).

    python bench/make_big_835.py [--corpus DIR] [--mb 50] [--out bench/results/big_835.edi]
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "x12-samples" / "835"
ISA = re.compile(rb"ISA\*")


def interchanges(corpus: Path) -> list[bytes]:
    """The ISA..end bytes of each 835 sample that uses * and ~ and has an IEA trailer."""
    out = []
    for path in sorted(corpus.iterdir()):
        if not path.is_file() or path.suffix == ".md":
            continue
        raw = path.read_bytes()
        if raw[:3] == b"\xef\xbb\xbf":
            raw = raw[3:]
        m = ISA.search(raw)
        if not m:
            continue
        body = raw[m.start():].rstrip()
        # the terminator is the byte after ISA16 (106th char of a fixed-width ISA)
        if len(body) < 107 or body[105:106] != b"~" or b"IEA*" not in body or b"ST*835" not in body:
            continue
        out.append(body + b"\n")
    return out


def build(corpus: Path, target_bytes: int) -> bytes:
    pieces = interchanges(corpus)
    if not pieces:
        raise SystemExit(f"no usable 835 interchanges under {corpus}")
    return repeat_to(pieces, target_bytes)


def repeat_to(pieces: list[bytes], target_bytes: int) -> bytes:
    """The pieces in turn, again and again, until there are at least target_bytes."""
    chunks, size, i = [], 0, 0
    while size < target_bytes:
        piece = pieces[i % len(pieces)]
        chunks.append(piece)
        size += len(piece)
        i += 1
    return b"".join(chunks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--mb", type=float, default=50.0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "big_835.edi")
    args = ap.parse_args(argv)
    data = build(args.corpus, int(args.mb * 1e6))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data) / 1e6:.1f} MB, {data.count(b'ST*835')} transaction sets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
