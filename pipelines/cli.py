"""The `claimback` command: run the pipeline, parse X12, synthesise an inbox, import code lists.

`claimback run` executes the same Dagster job the UI and the schedule run, in this process, records
it in the warehouse's Dagster instance (so the UI shows it) and prints progress and a closing
summary; `claimback ui` opens the UI on that instance; the other verbs call the library directly.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import MISSING, fields
from datetime import date
from pathlib import Path

from claimback.settings import Settings, check_as_of
from claimback.storage import is_remote, location
from claimback.warehouse import WarehouseBusy, check_path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3  # 3: another run holds the warehouse
DEMO_DIR = "data/demo"  # the Makefile's DEMO
ROOT = Path(__file__).resolve().parents[1]


def default_folder(kind: str) -> str:
    """CLAIMBACK_INBOX / CLAIMBACK_WAREHOUSE, else the demo's folder when `make demo` built it, else data/."""
    configured = os.environ.get(f"CLAIMBACK_{kind.upper()}")
    if configured:
        return configured
    demo = Path(DEMO_DIR) / kind
    return str(demo) if demo.is_dir() else f"data/{kind}"


class UsageError(Exception):
    """Something the user must fix before a run can start; the message says what."""


# --- logging: progress lines on stderr, never PHI ---------------------------------------------
class _Progress(logging.Formatter):
    def __init__(self):
        super().__init__()
        self.start = time.monotonic()

    def format(self, record: logging.LogRecord) -> str:
        return f"[{time.monotonic() - self.start:7.1f}s] {record.getMessage()}"


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Progress())
    logger = logging.getLogger("claimback")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    logging.getLogger("dagster").setLevel(logging.ERROR)


# --- run ----------------------------------------------------------------------------------------
def _as_of(text: str | None) -> date:
    if not text:
        return date.today()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of {text!r} is not a date like 2026-11-22") from None
    try:
        return check_as_of(day)
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from None


def _check_folders(inbox: Path, warehouse: Path) -> None:
    if not inbox.is_dir() and not is_remote(inbox):  # an object store prefix exists once it holds a file
        raise UsageError(f"inbox folder {inbox} does not exist (create it, or pass --inbox)")
    try:
        check_path(warehouse)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        warehouse.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only from its first moment
    except OSError as exc:
        raise UsageError(f"cannot create warehouse folder {warehouse}: {exc.strerror}") from None
    if not os.access(warehouse, os.W_OK | os.X_OK):
        raise UsageError(f"warehouse folder {warehouse} is not writable")
    if not is_remote(inbox) and warehouse.resolve().is_relative_to(inbox.resolve()):
        raise UsageError("the warehouse folder must not lie inside the inbox (its files would be read as input)")


def run_pipeline(inbox: Path, warehouse: Path, as_of: date, *, instance=None, celery: str | None = None,
                 **options):
    """Run the whole Dagster job in this process on these folders (its steps on Celery workers when
    `celery` names their broker); `options` are the other Settings (payer_rules, provider_profile,
    deidentify, batch_files, lake_location, ...). Returns the Dagster result."""
    settings = Settings(inbox=location(inbox), warehouse=Path(warehouse), as_of=as_of, **options)
    return run_settings(settings, instance, celery)


def run_settings(settings: Settings, instance=None, celery: str | None = None):
    """Run the whole Dagster job in this process; returns the Dagster result.

    The run, its materializations and check results are recorded in `instance`, by default the
    warehouse's persistent one (pipelines/instance.py), so the UI opened later shows them. With
    `celery` (a broker URL, redis://host:port/db) this process only coordinates the run and the
    Celery workers listening on that broker run its steps (_run_on_celery).
    """
    from claimback.publish import previous_copied_early
    from claimback.quality import imported_beside
    from claimback.warehouse import one_writer
    from pipelines.definitions import defs
    from pipelines.instance import persistent_instance

    if settings.payer_rules:
        from claimback.routing import load_rules

        load_rules(settings.payer_rules)  # fail fast, before any work, on a malformed rules file
    if settings.provider_profile:
        from claimback.forms.provider import load_profiles

        load_profiles(settings.provider_profile)  # likewise: a typo in a profile fails before the run
    job = defs.resolve_job_def("claimback")
    run_config = {
        "resources": {"claimback": {"config": settings.as_config()}},
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    if celery:
        return _run_on_celery(run_config, celery, settings.warehouse, instance)
    # In process, the job's own executor (which takes the lock for UI and daemon runs) is not used.
    with one_writer(settings.warehouse, "claimback run"), \
            (nullcontext() if settings.from_scratch else previous_copied_early(settings.warehouse)):
        imported_beside()  # the checks' library loaded while the inbox is read (100 k claims: 3.5 s less)
        if instance is not None:
            return job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False,
                                          tags=RUN_TAGS)
        with persistent_instance(settings.warehouse) as recorded:
            return job.execute_in_process(run_config=run_config, instance=recorded, raise_on_error=False,
                                          tags=RUN_TAGS)


RUN_TAGS = {"claimback/started_by": "claimback run"}  # the UI's Runs list tells these from its own


def _run_on_celery(run_config: dict, broker: str, warehouse: Path, instance=None):
    """The job on Dagster's celery_executor, as a daemon's run worker would run it: this process
    coordinates (the job's executor holds the warehouse lock here), the steps go to the Celery
    workers listening on `broker`, which read and write the same inbox and lake (so these must be on
    storage every worker reaches: an object store, or one machine's folders) and report to the same
    Dagster instance (its storage must be reachable by every worker: here the warehouse's sqlite
    instance, on this machine; docs/deployment.md)."""
    import dagster as dg

    from pipelines.definitions import reconstructable_job
    from pipelines.instance import persistent_instance
    from pipelines.one_writer import celery_available

    if not celery_available():
        raise UsageError("--celery needs dagster-celery: pip install 'claimback[cluster]'")
    run_config = {**run_config, "execution": {"config": {"celery": {"broker": broker, "backend": broker}}}}

    def execute(recorded):
        with dg.execute_job(reconstructable_job(), instance=recorded, run_config=run_config, tags=RUN_TAGS) as result:
            return result

    if instance is not None:
        return execute(instance)
    with persistent_instance(warehouse) as recorded:
        return execute(recorded)


def cmd_run(args) -> int:
    inbox, warehouse = location(args.inbox), Path(args.warehouse)
    _check_folders(inbox, warehouse)
    as_of = _as_of(args.as_of)
    if getattr(args, "batch_files", 1) < 1:
        raise UsageError("--batch-files must be at least 1")
    log = logging.getLogger("claimback.cli")
    log.info(f"claimback run: inbox {inbox}, warehouse {warehouse}, as of {as_of}")
    # the other settings given as flags (the demo verb has none of its own: their defaults)
    options = {f.name: getattr(args, f.name) for f in fields(Settings)
               if f.name not in ("inbox", "warehouse", "as_of") and f.metadata["flag"] and hasattr(args, f.name)}
    for name in ("payer_rules", "provider_profile", "fee_schedule"):
        options[name] = _optional_path(options.get(name), Settings.flag(name))
    result = run_pipeline(inbox, warehouse, as_of, celery=getattr(args, "celery", None), **options)
    _report_steps(result)
    if not result.success:
        return EXIT_FAILED
    from pipelines.summary import print_summary

    print_summary(warehouse)
    return EXIT_OK


def _optional_path(value: str | None, flag: str) -> Path | None:
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise UsageError(f"{flag} {value}: no such file")
    return path


def _report_steps(result) -> None:
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    for event in failures:
        print(f"step {event.step_key} failed: {_cause(event.event_specific_data.error)}", file=sys.stderr)
    if not result.success and not failures:
        print("the run did not complete (a blocking check failed); see the checks above", file=sys.stderr)
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                print(f"check {data.check_name}: {data.description or 'failed'}", file=sys.stderr)


# What to do about the failures a user can fix, by the words of their cause.
_FIXES = {
    "No space left on device": "free space on the warehouse's disk and run again; the published file is still "
                               "the previous one",
    "Permission denied": "give the account running claimback access to the warehouse folder",
    "Read-only file system": "put the warehouse on a writable filesystem",
}


def _cause(error) -> str:
    """The root cause of a step's failure, not Dagster's wrapper ("Error occurred while executing
    op ..."), with what to do when it is one a user can fix."""
    if error is None:
        return "unknown error"
    while error.cause is not None:
        error = error.cause
    message = error.message.strip()
    fix = next((f for words, f in _FIXES.items() if words in message), None)
    return f"{message} ({fix})" if fix else message


# --- other verbs ----------------------------------------------------------------------------------
def cmd_parse(args) -> int:
    """The parse command of `python -m claimback.x12`, with this CLI's usage errors."""
    from claimback.x12 import __main__ as parse_command

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"{', '.join(missing)}: no such file or folder")
    return parse_command.run(args, quiet=args.quiet)


def cmd_synth(args) -> int:
    from claimback.synth import default_truth_dir, generate

    out = Path(args.out)
    truth = default_truth_dir(out) if args.truth else None
    try:
        summary = generate(out, claims=args.claims, seed=args.seed,
                           as_of=_as_of(args.as_of) if args.as_of else None, truth_dir=truth,
                           claims_before=args.claims_before, months=args.months, later_dir=args.later_remits)
    except (FileExistsError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(f"synthesised {summary.claims:,} claims into {out}: {summary.files_837} 837 files, "
          f"{summary.files_835} 835 files, {summary.denied_claims:,} denied claims "
          f"({summary.denial_rate:.1%}), {summary.planted_trends} planted trends, "
          f"{summary.log_rows} reconsideration log rows, {summary.underpaid_claims} claims underpaid under a wrong "
          "fee schedule")
    if args.later_remits:
        print(f"{summary.later_remit_claims:,} claims answered after the as-of date: "
              f"{summary.later_remit_files} 835 files under {args.later_remits}, one folder per check date")
    if truth:
        print(f"ground truth (never put it in the inbox): {truth}")
    return EXIT_OK


def cmd_codes_import(args) -> int:
    from claimback import codes

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        print(codes.cli_import(path, kind=args.kind))
    except (codes.OfficialListError, codes.CodeListError) as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def cmd_demo(args) -> int:
    from claimback.synth import generate

    root = Path(args.dir)
    inbox, warehouse = root / "inbox", root / "warehouse"
    log = logging.getLogger("claimback.cli")
    as_of = _as_of(args.as_of)
    if not inbox.is_dir() or not any(inbox.iterdir()):
        log.info(f"synthesising {args.claims:,} claims into {inbox}")
        generate(inbox, claims=args.claims, seed=args.seed, as_of=as_of)
    else:
        log.info(f"using the existing demo inbox {inbox}")
    args.inbox, args.warehouse, args.as_of = str(inbox), str(warehouse), as_of.isoformat()
    args.payer_rules = args.provider_profile = None
    args.deidentify = True
    code = cmd_run(args)
    if code == EXIT_OK:
        db = warehouse / "claimback.duckdb"
        ui = "make ui" if root == Path(DEMO_DIR) else f"make ui DEMO={root}"
        where = "" if root == Path(DEMO_DIR) else f" --warehouse {warehouse}"
        print(f"""
Next:
  the Dagster UI on this demo:   {ui:16s} (then open http://127.0.0.1:3000; this run is in Runs)
  what to do today:              .venv/bin/claimback sql analyst_today{where}
  query the published file:      .venv/bin/claimback sql{where}   (the list of views)
  from Python / a notebook:      duckdb.connect("{db}", read_only=True)
  trend packets (PDF + CSV):     {warehouse / 'packets' / 'trends'}""")
    return code


def cmd_sql(args) -> int:
    from pipelines.summary import QueryError, run_sql

    warehouse = Path(args.warehouse or default_folder("warehouse"))
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    try:
        return run_sql(warehouse, args.query, as_csv=args.csv, vertical=args.vertical, limit=args.limit)
    except (QueryError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None


def cmd_ui(args) -> int:
    """`dagster dev` on the warehouse's own instance, with the folders the UI's runs will use."""
    import shutil

    from pipelines.instance import dagster_home, prepare_home

    inbox = Path(args.inbox or default_folder("inbox")).resolve()
    warehouse = Path(args.warehouse or default_folder("warehouse")).resolve()
    if not inbox.is_dir():
        raise UsageError(f"inbox folder {inbox} does not exist (run `make demo`, or pass --inbox)")
    warehouse.mkdir(parents=True, exist_ok=True)
    home = prepare_home(dagster_home(warehouse))
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or shutil.which("dagster")
    if not dagster:
        raise UsageError("the `dagster` command is not installed in this environment (make install)")
    env = {**os.environ, "CLAIMBACK_INBOX": str(inbox), "CLAIMBACK_WAREHOUSE": str(warehouse),
           "DAGSTER_HOME": str(home)}
    print(f"Dagster UI on http://{args.host}:{args.port}  (warehouse {warehouse}, runs recorded in {home})",
          file=sys.stderr)
    os.chdir(ROOT)  # workspace.yaml names the code location relative to the project
    os.execve(dagster, [dagster, "dev", "-w", "workspace.yaml", "-h", args.host, "-p", str(args.port)], env)


# --- parser ---------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claimback", description=__doc__.splitlines()[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and the summary")
    # The same flag after the verb (`claimback parse ... -q`): SUPPRESS keeps the value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="only warnings and the summary")
    sub = parser.add_subparsers(dest="command", required=True)

    def verb(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    run = verb("run", help="run the whole pipeline on an inbox (the Dagster job, in process)")
    add_setting_flags(run)
    run.add_argument("--celery", metavar="BROKER_URL",
                     help="run the steps on the Celery workers listening on this broker (redis://host:port/db; "
                          "needs claimback[cluster]; see docs/deployment.md); default: in this process")
    run.set_defaults(func=cmd_run)

    parse = verb("parse", help="convert X12 files to Parquet tables (no pipeline, no de-duplication)")
    _parse_arguments(parse)
    parse.set_defaults(func=cmd_parse)

    synth = verb("synth", help="write a realistic synthetic inbox (837s, 835s, reconsideration log)")
    synth.add_argument("--claims", type=int, required=True)
    synth.add_argument("--out", required=True)
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument("--as-of", help="last remit date of the synthetic history (default today)")
    synth.add_argument("--truth", action="store_true", help="also write what was planted beside the inbox")
    synth.add_argument("--claims-before", type=int, default=0, metavar="N",
                       help="claims the earlier drops of this history hold: claim, patient control, payer "
                            "claim and member numbers continue after them (default 0: a history of its own)")
    synth.add_argument("--months", type=int, default=9,
                       help="months of service the claims span, ending 25 days before the as-of date (default 9; "
                            "1 for a night's drop: its remits dated in the last weeks, as a clearinghouse sends them)")
    synth.add_argument("--later-remits", metavar="DIR",
                       help="also write the first 835s the payers send after the as-of date, under DIR/YYYY-MM-DD/ "
                            "by check date: the later nights of a history grown drop by drop deliver them "
                            "(bench/nightly_bench.py)")
    synth.set_defaults(func=cmd_synth)

    codes = verb("codes", help="CARC/RARC code lists")
    codes_sub = codes.add_subparsers(dest="codes_command", required=True)
    imp = codes_sub.add_parser("import", parents=[common], help="load an X12 CARC or RARC list you downloaded")
    imp.add_argument("file", help="CSV/TSV (or the saved x12.org page) with code, description, start/stop dates")
    imp.add_argument("--kind", choices=["carc", "rarc"], help="which list (detected when omitted)")
    imp.set_defaults(func=cmd_codes_import)

    demo = verb("demo", help="synthesise an inbox, run the pipeline and show what it found")
    demo.add_argument("--claims", type=int, default=5000)
    demo.add_argument("--dir", default=DEMO_DIR)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--as-of", help="default today")
    demo.set_defaults(func=cmd_demo)

    sql = verb("sql", help="list the analyst views, or run one (or any query) on the published file, read-only")
    sql.add_argument("query", nargs="?", help="a view name or a SQL query")
    sql.add_argument("--warehouse", default=None,
                     help="default $CLAIMBACK_WAREHOUSE, else the demo's warehouse when it exists, else data/warehouse")
    shape = sql.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="print every row as CSV instead of a table")
    shape.add_argument("--vertical", action="store_true",
                       help="one record per block, one column per line (wide views in a narrow terminal)")
    sql.add_argument("--limit", type=int, default=100, help="rows shown for a view (default 100; --csv prints all)")
    sql.set_defaults(func=cmd_sql)

    ui = verb("ui", help="the Dagster UI on a warehouse: its runs (cron's too), assets, checks and today's work")
    ui.add_argument("--inbox", default=None, help="default $CLAIMBACK_INBOX, else the demo's inbox when it exists")
    ui.add_argument("--warehouse", default=None, help="default $CLAIMBACK_WAREHOUSE, else the demo's warehouse")
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    return parser


def _parse_arguments(parser: argparse.ArgumentParser) -> None:
    from claimback.x12 import __main__ as parse_command  # the arguments `python -m claimback.x12` takes

    parse_command.add_arguments(parser)


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """A flag per setting that has one (claimback.settings: its name, help and default)."""
    for f in fields(Settings):
        flag, help = f.metadata["flag"], f.metadata["help"]
        if not flag:
            continue
        if f.type == "bool":
            parser.add_argument(flag, action="store_true", help=help, dest=f.name)
        elif f.type == "int":
            parser.add_argument(flag, type=int, default=f.default, help=f"{help}; default {f.default}", dest=f.name)
        else:  # dest: --lake sets lake_location
            parser.add_argument(flag, required=f.default is MISSING and f.name != "as_of", help=help, dest=f.name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.quiet)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"claimback: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WarehouseBusy as exc:
        print(f"claimback: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except Exception as exc:  # a clear line for users; the traceback only on request
        if os.environ.get("CLAIMBACK_DEBUG"):
            raise
        name = type(exc).__name__
        print(f"claimback: {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE if name.endswith(("RulesError", "InboxError", "ProfileError")) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
