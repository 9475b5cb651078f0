"""Build a claim-dense 835 (≥ 50 MB by default) from `claimback synth` ERAs.

A clinic's ERA carries a few hundred bytes per claim (the corpus samples, ~800 bytes per claim,
are mostly envelope and payer detail). This script synthesises a small inbox with
`claimback synth`, takes every 835 interchange it wrote, puts a line break (CRLF) after each
segment terminator — how many payers send it — and repeats the interchanges until the target
size: one file of many small ERAs, the shape of a clinic's or billing service's monthly drop.
Written under bench/results/ (ignored, never committed).

    python bench/make_dense_835.py [--mb 57] [--claims 2000] [--out bench/results/dense_835.edi]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from claimback.synth import generate

HERE = Path(__file__).resolve().parent


def era_interchanges(inbox: Path) -> list[bytes]:
    """Each synthetic 835's bytes from its ISA, with CRLF after every `~`, in a stable order."""
    out = []
    for path in sorted(inbox.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if b"ST*835*" not in raw or not raw.startswith(b"ISA"):
            continue
        out.append(raw.strip().replace(b"~\r\n", b"~").replace(b"~\n", b"~").replace(b"~", b"~\r\n"))
    return out


def build(interchanges: list[bytes], target_bytes: int) -> bytes:
    if not interchanges:
        raise SystemExit("the synthetic inbox has no 835 files")
    chunks, size, i = [], 0, 0
    while size < target_bytes:
        piece = interchanges[i % len(interchanges)]
        chunks.append(piece)
        size += len(piece)
        i += 1
    return b"".join(chunks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=57.0)
    ap.add_argument("--claims", type=int, default=2000, help="claims synthesised (the ERAs repeat)")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "dense_835.edi")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), args.claims, seed=args.seed)
        data = build(era_interchanges(Path(tmp)), int(args.mb * 1e6))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    claims = data.count(b"\nCLP*")
    print(f"{args.out}: {len(data) / 1e6:.1f} MB, {claims:,} claims")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
