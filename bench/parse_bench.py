"""Benchmark `claimback parse` against the anchor parsers (oxedi, pyx12, edi-835-parser), side by side.

Every parser runs as its own process over the same input — the whole process is timed,
including imports and writing its tables to Parquet — under /usr/bin/time -v for peak RSS:

  claimback       python -m claimback.x12 INPUT --out TMP            (the project venv)
  oxedi           oxedi.parse_file → .tables.to_polars() → Parquet    (bench/.anchors-venv)
  pyx12           X12ContextReader.iter_segments() (a validator: no tables, counts only)
  edi-835-parser  edi_835_parser.parse → to_dataframe() → Parquet
  polars-floor    not a parser: Python + import polars + ten empty Parquet tables (the fixed
                  cost under every Polars-based reader; no throughput is reported for it)

The anchors are not project dependencies: the first run creates bench/.anchors-venv and
pip-installs pinned versions there. Datasets: the 835 sample corpus (../shared/x12-samples/835),
a ≥ 50 MB 835 of corpus interchanges (bench/make_big_835.py), a ≥ 50 MB claim-dense 835 of
`claimback synth` ERAs (bench/make_dense.py), and for the 837 — against pyx12, the one anchor that
reads 837s — the 143-file 837 corpus and a 5 MB claim-dense 837 of synth claims. "× anchor" is
MB/s over oxedi's (835) or pyx12's (837) on the same dataset. Results go to
bench/results/parse_bench.json and the table between the markers in bench/README.md.

    python bench/parse_bench.py [--only claimback,oxedi] [--timeout 900] [--no-readme]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = ROOT.parent / "shared" / "x12-samples" / "835"
CORPUS_837 = ROOT.parent / "shared" / "x12-samples" / "837"
BIG = HERE / "results" / "big_835.edi"
DENSE = HERE / "results" / "dense_835.edi"
DENSE_837 = HERE / "results" / "dense_837.edi"
# claimback runs in the project's venv, or (a worktree without one) the interpreter running this
CLAIMBACK_PYTHON = ROOT / ".venv" / "bin" / "python" if (ROOT / ".venv").is_dir() else Path(sys.executable)
RESULTS = HERE / "results" / "parse_bench.json"
README = HERE / "README.md"
VENV = HERE / ".anchors-venv"
ANCHOR_PINS = ["pyx12==4.0.0", "oxedi==0.6.0", "edi-835-parser==1.8.0", "polars", "pyarrow"]
PARSERS = ("claimback", "oxedi", "pyx12", "edi-835-parser", "polars-floor")

# Not a parser: starting Python, importing Polars and writing the ten contract tables empty —
# the cost any Polars-based reader pays before it reads a byte, measured in the same run.
FLOOR_SCRIPT = r'''
import os, sys
import polars as pl
for name in ("remit_payments", "remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks",
             "provider_adjustments", "submitted_claims", "submitted_service_lines", "validation_findings",
             "quarantine"):
    pl.DataFrame({"source_file": []}, schema={"source_file": pl.String}).write_parquet(
        os.path.join(sys.argv[1], name + ".parquet"))
'''

# Runs inside the anchors venv: parse every file, write tables to Parquet, print counts as JSON.
ANCHOR_SCRIPT = r'''
import json, os, sys, warnings
parser, out_dir, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
files = []
for p in paths:
    if os.path.isdir(p):
        files += sorted(os.path.join(p, f) for f in os.listdir(p) if not f.startswith(".") and not f.endswith(".md"))
    else:
        files.append(p)
claims = lines = adjustments = ok = 0
errors = []
for i, path in enumerate(files):
    try:
        if parser == "oxedi":
            import oxedi
            frames = oxedi.parse_file(path).tables.to_polars()
            for name, frame in frames.items():
                frame.write_parquet(os.path.join(out_dir, f"{i}_{name}.parquet"))
            claims += frames["claims"].height; lines += frames["services"].height
            adjustments += frames["adjustments"].height
        elif parser == "edi-835-parser":
            from edi_835_parser import parse
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = parse(path).to_dataframe()
            df.astype(str).to_parquet(os.path.join(out_dir, f"{i}.parquet"))
            claims += int(df[["icn", "marker"]].drop_duplicates().shape[0]) if len(df) else 0
            lines += len(df)
        elif parser == "pyx12":
            import pyx12.error_handler, pyx12.params, pyx12.x12context
            errh = pyx12.error_handler.err_handler()
            with pyx12.x12context.X12ContextReader(pyx12.params.params(), errh, path) as src:
                for node in src.iter_segments():
                    sid = node.seg_data.get_seg_id()
                    claims += sid in ("CLP", "CLM"); lines += sid in ("SVC", "SV1", "SV2", "SV3")
                    if sid == "CAS":
                        adjustments += sum(1 for k in (2, 5, 8, 11, 14, 17) if node.seg_data.get_value("CAS%02d" % k))
        ok += 1
    except Exception as exc:
        errors.append(f"{os.path.basename(path)}: {type(exc).__name__}")
print(json.dumps(dict(files=len(files), ok_files=ok, claims=claims, lines=lines, adjustments=adjustments,
                      errors=len(errors), error_samples=errors[:3])))
'''


def ensure_anchor_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import oxedi, pyx12, edi_835_parser, polars, pyarrow"],
                           capture_output=True)
    if probe.returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *ANCHOR_PINS], check=True)
    return python


def timed(cmd: list[str], timeout: float) -> dict:
    """Run `cmd` under /usr/bin/time -v; wall seconds, peak RSS (MB) and its stdout."""
    started = time.perf_counter()
    try:
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, timeout=timeout,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return dict(seconds=timeout, error=f"timeout after {timeout:.0f} s")
    seconds = time.perf_counter() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    # CPU seconds (user + system, all threads): what a busy shared machine disturbs least
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr))
    out = dict(seconds=round(seconds, 2), cpu_seconds=round(cpu, 2),
               peak_rss_mb=round(int(rss.group(1)) / 1024, 1) if rss else None)
    if proc.returncode:
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("\t")][-1:]
        out["error"] = f"exit {proc.returncode}: {tail[0][:200] if tail else ''}"
    out["stdout"] = proc.stdout
    return out


def run_parser(parser: str, inputs: list[Path], anchor_python: Path | None, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{parser}-") as out:
        if parser == "claimback":
            res = timed([str(CLAIMBACK_PYTHON), "-m", "claimback.x12", *map(str, inputs),
                         "--out", out, "--quiet"], timeout)
            if "error" not in res:
                summary = json.loads(res["stdout"].strip().splitlines()[-1])
                tables = summary["tables"]
                remits = tables["remit_claims"] > 0
                res.update(claims=tables["remit_claims" if remits else "submitted_claims"],
                           lines=tables["remit_service_lines" if remits else "submitted_service_lines"],
                           adjustments=tables["remit_adjustments"], quarantined=tables["quarantine"])
        elif parser == "polars-floor":
            res = timed([str(CLAIMBACK_PYTHON), "-c", FLOOR_SCRIPT, out], timeout)
        else:
            res = timed([str(anchor_python), "-c", ANCHOR_SCRIPT, parser, out, *map(str, inputs)], timeout)
            if "error" not in res and res["stdout"].strip():
                res.update(json.loads(res["stdout"].strip().splitlines()[-1]))
    res.pop("stdout", None)
    return res


def dataset_bytes(inputs: list[Path]) -> int:
    total = 0
    for p in inputs:
        files = [f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".") and f.suffix != ".md"] \
            if p.is_dir() else [p]
        total += sum(f.stat().st_size for f in files)
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(PARSERS), help="comma-separated parsers to run")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per parser per dataset")
    ap.add_argument("--repeat", type=int, default=1, help="runs per parser and dataset; the fastest is kept")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the table in bench/README.md")
    ap.add_argument("--datasets", default="", help="comma-separated words of the dataset labels to run "
                                                   "(e.g. 'dense,big'); all when empty")
    args = ap.parse_args(argv)
    parsers = [p for p in args.only.split(",") if p]
    if not BIG.exists():
        subprocess.run([sys.executable, str(HERE / "make_big_835.py"), "--out", str(BIG)], check=True)
    for path, kind, mb in ((DENSE, "835", "57"), (DENSE_837, "837", "5")):
        if not path.exists():
            subprocess.run([str(CLAIMBACK_PYTHON), str(HERE / "make_dense.py"), "--kind", kind, "--mb", mb, "--out",
                            str(path)], check=True, cwd=ROOT)
    anchor_python = ensure_anchor_venv() if any(p != "claimback" for p in parsers) else None
    # The anchors' modules were byte-compiled when pip installed them; ours, installed editable,
    # are compiled here the same way (`make bytecode`), or each run would compile them again.
    subprocess.run([str(CLAIMBACK_PYTHON), "-m", "compileall", "-q", "claimback"], cwd=ROOT, check=True)
    mb = lambda path: f"{path.stat().st_size / 1e6:.0f} MB"  # noqa: E731
    datasets = {  # label: (inputs, the anchor the ratio is taken against, the parsers that read the kind)
        "835 corpus (40 files)": ([CORPUS], "oxedi", PARSERS),
        # pyx12 and edi-835-parser fail on the large 835s (README): not run there
        f"big 835 ({mb(BIG)}, corpus interchanges)": ([BIG], "oxedi", ("claimback", "oxedi", "polars-floor")),
        f"dense 835 ({mb(DENSE)}, synth ERAs)": ([DENSE], "oxedi", ("claimback", "oxedi", "polars-floor")),
        "837 corpus (143 files)": ([CORPUS_837], "pyx12", ("claimback", "pyx12", "polars-floor")),
        f"dense 837 ({mb(DENSE_837)}, synth claims)": ([DENSE_837], "pyx12", ("claimback", "pyx12")),
    }
    if args.datasets:
        datasets = {k: v for k, v in datasets.items() if any(word in k for word in args.datasets.split(","))}
    rows = []
    for label, (inputs, anchor, readers) in datasets.items():
        nbytes = dataset_bytes(inputs)
        for parser in [p for p in parsers if p in readers]:
            best = None
            for _ in range(args.repeat):
                res = run_parser(parser, inputs, anchor_python, args.timeout)
                if best is None or ("error" not in res and res["seconds"] < best["seconds"]):
                    best = res
            # a run that read nothing has no throughput (a crash after 1 s is not 50 MB/s)
            failed = "error" in best or best.get("ok_files") == 0 or parser == "polars-floor"
            best.update(dataset=label, parser=parser, bytes=nbytes, anchor=anchor,
                        MB_s=None if failed else round(nbytes / 1e6 / best["seconds"], 2))
            if best.get("claims") is not None and best.get("seconds") and not failed:
                best["claims_s"] = round(best["claims"] / best["seconds"], 1)
            print(json.dumps(best), flush=True)
            rows.append(best)
    for row in rows:
        ref = next((r for r in rows if r["dataset"] == row["dataset"] and r["parser"] == row["anchor"]
                    and "error" not in r and r.get("MB_s")), None)
        row["vs_anchor"] = round(row["MB_s"] / ref["MB_s"], 2) if ref and row.get("MB_s") else None
        row["cpu_vs_anchor"] = round(ref["cpu_seconds"] / row["cpu_seconds"], 2) \
            if ref and row.get("MB_s") and row.get("cpu_seconds") else None
        # peak memory against the budget: 4 x the input + 300 MB
        row["memory_budget_mb"] = round(4 * row["bytes"] / 2**20 + 300)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(measured_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                       load_average=os.getloadavg(), cpus=os.cpu_count(), rows=rows), indent=1))
    table = markdown(rows)
    print(table)
    if not args.no_readme:
        write_readme_table(table)
    return 0


def markdown(rows: list[dict]) -> str:
    head = ("| dataset | parser | seconds | CPU s | MB/s | claims/s | claims | CAS triplets | peak RSS MB (budget) "
            "| × anchor | × anchor, CPU | notes |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    lines = [head]
    for r in rows:
        notes = r.get("error") or (f"{r['errors']} file errors, e.g. {r['error_samples'][0]}" if r.get("errors") else "")
        if r["parser"] == "polars-floor":
            notes = "reads nothing: the fixed cost of any Polars-based reader"
        if r.get("quarantined"):
            notes = (notes + "; " if notes else "") + f"{r['quarantined']} quarantine rows"
        lines.append(f"| {r['dataset']} | {r['parser']} | {r.get('seconds', '')} | {r.get('cpu_seconds', '')} | "
                     f"{r.get('MB_s') or ''} | "
                     f"{r.get('claims_s', '')} | {r.get('claims', '')} | {r.get('adjustments', '')} | "
                     f"{r.get('peak_rss_mb', '')} ({r['memory_budget_mb']}) | "
                     f"{r.get('vs_anchor') or ''}{' ' + r['anchor'] if r['parser'] == 'claimback' else ''} | "
                     f"{r.get('cpu_vs_anchor') or ''} | {notes} |")
    load = os.getloadavg()
    lines.append(f"\nMeasured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, "
                 f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared machine).")
    return "\n".join(lines)


def write_readme_table(table: str) -> None:
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    text = README.read_text() if README.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    README.write_text(f"{before}{start}\n{table}\n{end}{after}")


if __name__ == "__main__":
    raise SystemExit(main())
