"""Build a claim-dense 835 (≥ 50 MB by default) or 837 from `claimback synth` files.

A clinic's ERA carries a few hundred bytes per claim (the corpus samples, ~800 bytes per claim,
are mostly envelope and payer detail). This script synthesises a small inbox with
`claimback synth`, takes every 835 (or 837) interchange it wrote, puts a line break (CRLF) after
each segment terminator — how many payers send it — and repeats the interchanges until the
target size: one file of many small ERAs, the shape of a clinic's or billing service's monthly
drop. Written under bench/results/ (ignored, never committed).

    python bench/make_dense.py [--kind 835] [--mb 57] [--claims 2000] [--out bench/results/dense_835.edi]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from claimback.synth import generate
from make_big_835 import repeat_to  # bench/ is the script's folder

HERE = Path(__file__).resolve().parent


def interchanges(inbox: Path, kind: str = "835") -> list[bytes]:
    """Each synthetic file's bytes of that kind from its ISA, with CRLF after every `~`, in a stable order."""
    out = []
    for path in sorted(inbox.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if f"ST*{kind}*".encode() not in raw or not raw.startswith(b"ISA"):
            continue
        out.append(raw.strip().replace(b"~\r\n", b"~").replace(b"~\n", b"~").replace(b"~", b"~\r\n"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=("835", "837"), default="835")
    ap.add_argument("--mb", type=float, default=57.0)
    ap.add_argument("--claims", type=int, default=2000, help="claims synthesised (the ERAs repeat)")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    out = args.out or HERE / "results" / f"dense_{args.kind}.edi"
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), args.claims, seed=args.seed)
        pieces = interchanges(Path(tmp), args.kind)
        if not pieces:
            raise SystemExit("the synthetic inbox has no files of that kind")
        data = repeat_to(pieces, int(args.mb * 1e6))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    claims = data.count(b"\nCLP*" if args.kind == "835" else b"\nCLM*")
    print(f"{out}: {len(data) / 1e6:.1f} MB, {claims:,} claims")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
