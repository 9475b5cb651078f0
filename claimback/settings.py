"""Every setting of a claimback run, in one place: what it is, its default, and how each way of
running gives it (a `claimback run` flag, an environment variable for UI, sensor and schedule runs,
a key of the Dagster run config).

The CLI, the Dagster resource and the environment all build the same frozen `Settings`; a new
setting is one field here (with its metadata), and the README's settings table is generated from
this module (`make readme-settings`; a test fails when the README differs).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date
from pathlib import Path

from claimback.denials import RECOUPMENT_WAIT_DAYS
from claimback import storage
from claimback.lake import Lake

# Deadlines, windows and dates are counted from the as-of date; outside these years the date
# arithmetic leaves the calendar (0001-01-01 minus a lookback, 9999-12-31 plus a window).
AS_OF_RANGE = (date(1990, 1, 1), date(2199, 12, 31))
# The folders a UI, sensor or schedule run uses when the environment names none.
DEFAULT_INBOX = "data/inbox"
DEFAULT_WAREHOUSE = "data/warehouse"


def check_as_of(day: date) -> date:
    """`day`, or a ValueError saying what to pass instead."""
    if not AS_OF_RANGE[0] <= day <= AS_OF_RANGE[1]:
        raise ValueError(f"the as-of date {day.isoformat()} is outside {AS_OF_RANGE[0].isoformat()} to "
                         f"{AS_OF_RANGE[1].isoformat()}: deadlines are counted from it; pass the day you mean "
                         "(usually today, the default)")
    return day


def _setting(what: str, *, flag: str | None = None, env: str | None = None, default_text: str | None = None,
             help: str | None = None, default=MISSING):
    """A Settings field and how users give it: `what` names it in the README, `help` is the flag's
    help, `default_text` says the default in users' words (else the default itself)."""
    metadata = {"what": what, "flag": flag, "env": env, "help": help or what,
                "default_text": default_text or str(default)}
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    inbox: Path = _setting(
        "inbox folder (or object store URL, `s3://bucket/prefix`)", flag="--inbox", env="CLAIMBACK_INBOX",
        help="folder (or s3://bucket/prefix) of 835/837 files and reconsiderations.csv",
        default_text=f"`{DEFAULT_INBOX}` (`claimback ui`: the demo's inbox when `make demo` built one)")
    warehouse: Path = _setting(
        "warehouse folder", flag="--warehouse", env="CLAIMBACK_WAREHOUSE",
        help="folder for the lake, packets and claimback.duckdb",
        default_text=f"`{DEFAULT_WAREHOUSE}` (`claimback ui` and `claimback sql`: `data/demo/warehouse` when "
                     "it exists)")
    as_of: date = _setting(
        "date deadlines count from", flag="--as-of", env="CLAIMBACK_AS_OF",
        help="date deadlines are measured from (YYYY-MM-DD; default today)", default_text="today")
    lake_location: str | None = _setting(
        "lake folder or object store URL", flag="--lake", env="CLAIMBACK_LAKE", default=None,
        help="where the Parquet lake lives: a folder or s3://bucket/prefix (default WAREHOUSE/lake); the "
             "published file, packets and run lock stay in the warehouse folder",
        default_text="`WAREHOUSE/lake`; `s3://bucket/prefix` keeps it on an object store (docs/deployment.md)")
    payer_rules: Path | None = _setting(
        "payer filing rules", flag="--payer-rules", env="CLAIMBACK_PAYER_RULES", default=None,
        help="YAML of payer filing windows, replacing the shipped rules",
        default_text="the shipped `claimback/routing/payer_rules.yaml`")
    provider_profile: Path | None = _setting(
        "provider on packets", flag="--provider-profile", env="CLAIMBACK_PROVIDER_PROFILE", default=None,
        help="YAML with the provider name, NPI, TIN and contact for packets",
        default_text="the 837 billing provider; unknown fields print \"(fill in)\"")
    deidentify: bool = _setting(
        "publish the de-identified copy", flag="--deidentify", env="CLAIMBACK_DEIDENTIFY", default=False,
        help="also publish claimback_deidentified.duckdb (no names or birth dates, member IDs hashed); once it "
             "exists, every run refreshes it",
        default_text="off; once `claimback_deidentified.duckdb` exists, **every** publishing run refreshes it "
                     "(`make demo` turns it on)")
    from_scratch: bool = _setting(
        "recompute from scratch", flag="--from-scratch", env="CLAIMBACK_FROM_SCRATCH", default=False,
        help="forget what earlier nights kept to save work (which current parts stand, the checks' counts, "
             "the published file to start from) and compute everything from the files read; the result is "
             "the same, only slower",
        default_text="off: a night recomputes what its new data touches (the kept counts and parts stand)")
    batch_files: int = _setting(
        "new files per parse step", flag="--batch-files", env="CLAIMBACK_BATCH_FILES", default=250,
        help="new files per parse step (the unit that runs in parallel)")
    recoupment_wait_days: int = _setting(
        "days a bare reversal waits for its replacement before it is a recoupment to work",
        default=RECOUPMENT_WAIT_DAYS)
    fee_schedule: Path | None = _setting(
        "contract fee schedule (underpayments)", flag="--fee-schedule", env="CLAIMBACK_FEE_SCHEDULE", default=None,
        help="contract fee schedule CSV (payer, product, procedure, modifier, expected_allowed, effective_from, "
             "effective_to); default: every *fee_schedule.csv in the inbox",
        default_text="every inbox file whose name ends in `fee_schedule.csv`")
    underpayment_min_dollars: float = _setting(
        "underpaid: the smallest shortfall in dollars (a paid line is underpaid when short by at least max(dollars, "
        "share of its expected allowed amount))", env="CLAIMBACK_UNDERPAYMENT_MIN_DOLLARS", default=5.0)
    underpayment_min_share: float = _setting(
        "underpaid: the smallest shortfall as a share of the expected allowed amount", env="CLAIMBACK_UNDERPAYMENT_MIN_SHARE", default=0.05)
    modal_min_observations: int = _setting(
        "lines the payer's own modal allowed amount (180 days before the remit, a clear mode) needs to stand in "
        "for a missing fee schedule row", env="CLAIMBACK_MODAL_MIN_OBSERVATIONS", default=5)

    def __post_init__(self):
        check_as_of(self.as_of)
        if self.batch_files < 1:
            raise ValueError("batch_files must be at least 1")

    @property
    def lake(self) -> Lake:
        return Lake(self.warehouse, self.lake_location, batches=self.__dict__.get("_batches"))

    def on_batches(self, batches: Sequence[str], *, from_scratch: bool) -> Settings:
        """These settings with the lake seen as if only these ingest batches were loaded (`Lake`'s
        `batches`): a step of a long history's recompute (claimback.stages). Not a setting users
        give, so not a field: the run config and the README's table know nothing of it."""
        step = replace(self, from_scratch=from_scratch)
        object.__setattr__(step, "_batches", tuple(batches))
        return step

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Settings:
        """From the Dagster run config's strings (empty = not given): `as_of` '' is today, a path
        '' is none. Keys left out take their defaults."""
        values = {}
        for f in fields(cls):
            if f.name not in config:
                continue
            value = config[f.name]
            if f.type in ("Path", "Path | None"):
                value = storage.location(value) if value else None  # a folder, or an s3:// URL
            elif f.type == "str | None":
                value = value or None
            elif f.type == "date":
                value = date.fromisoformat(value) if value else date.today()
            values[f.name] = value
        values.setdefault("as_of", date.today())
        return cls(**values)

    @staticmethod
    def flag(name: str) -> str | None:
        """The `claimback run` flag of a setting."""
        return next(f.metadata["flag"] for f in fields(Settings) if f.name == name)

    def as_config(self) -> dict[str, object]:
        """The Dagster run config of these settings (paths as strings, none as '')."""
        return {f.name: _config_value(getattr(self, f.name)) for f in fields(self)}


def _config_value(value):
    if value is None:
        return ""
    if storage.is_remote(value):  # an s3:// inbox
        return str(value)
    if isinstance(value, (Path, date)):
        return str(value) if isinstance(value, Path) else value.isoformat()
    return value


_FALSE = ("", "0", "false", "no")


def config_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The run config of UI, sensor and schedule runs from the environment (the README's settings
    table): the variables that are set, the default folders for the others."""
    environ = os.environ if environ is None else environ
    config: dict[str, object] = {"inbox": DEFAULT_INBOX, "warehouse": DEFAULT_WAREHOUSE}
    for f in fields(Settings):
        name = f.metadata["env"]
        if not name or name not in environ:
            continue
        text = environ[name]
        if f.type == "bool":
            config[f.name] = text not in _FALSE
        elif f.type == "int":
            config[f.name] = int(text)
        elif f.type == "float":
            config[f.name] = float(text)
        else:
            config[f.name] = text
    return config


def defaults() -> dict[str, object]:
    """Every setting that has a default, with it."""
    return {f.name: f.default for f in fields(Settings) if f.default is not MISSING}


# Knobs of the process rather than of a run: each is read where it is used, named here only so the
# README's table lists every setting. (what, flag, environment, run config key, default)
PROCESS_SETTINGS = (
    ("executor", "`--celery redis://HOST:PORT/DB` (steps on Celery workers; default in process)", "—",
     "`execution.config` (`in_process` / `multiprocess` / `celery`)",
     "in process (as fast as `claimback run`); the sensor asks for `multiprocess` when a drop has more than 40 "
     "batches (10,000 new files); `celery` needs `claimback[cluster]` and workers (docs/deployment.md)"),
    ("Dagster instance (run history)", "—", "`DAGSTER_HOME`", "—",
     "`WAREHOUSE/dagster_home`, created with `pipelines/dagster.yaml` (telemetry and pop-up off)"),
    ("key for hashed member IDs", "—", "`CLAIMBACK_DEID_KEY`", "—", "a random key kept in `WAREHOUSE/.deidentify.key`"),
    ("newer CARC/RARC lists", "—", "`CLAIMBACK_CODES_DIR`", "—",
     "`~/.config/claimback/codes/` (written by `claimback codes import`)"),
    ("reader threads per file", "—", "`CLAIMBACK_READER_THREADS`", "—",
     "2 (1 where the executor already runs one step per core)"),
    ("X12 reader engine", "—", "`CLAIMBACK_READER`", "—",
     "`core`: the compiled core where it is built (by `make install` / `pip install -e .`), else the "
     "`reference` (Polars) path with one warning; the tables are the same"),
    ("processes drawing PDF packets", "—", "`CLAIMBACK_DRAW_PROCESSES`", "—", "2 (1 draws in the calling process)"),
    ("how long freed memory is kept for reuse (Polars' jemalloc options; yours come after claimback's and win)", "—",
     "`_RJEM_MALLOC_CONF`", "—",
     "`oversize_threshold:0,dirty_decay_ms:10000,muzzy_decay_ms:0` (kept 10 s: fewer page faults, ~0.5 GB more "
     "at 10 M claims; `pipelines/allocator.py`)"),
    ("full tracebacks", "—", "`CLAIMBACK_DEBUG=1`", "—", "off: one line saying what went wrong"),
    ("progress lines", "`-q` (before or after the verb)", "—", "—", "shown on stderr"),
)


def settings_table() -> str:
    """The README's settings table, in Markdown."""
    rows = ["| setting | `claimback run` flag | environment (UI, sensor, schedule) | run config key | default |",
            "|---|---|---|---|---|"]
    for f in fields(Settings):
        meta = f.metadata
        env = meta["env"] and (f"`{meta['env']}=1`" if f.type == "bool" else f"`{meta['env']}`")
        rows.append(f"| {meta['what']} | {_code(meta['flag'])} | {env or '—'} | `{f.name}` | {meta['default_text']} |")
    rows += [f"| {' | '.join(row)} |" for row in PROCESS_SETTINGS]
    return "\n".join(rows) + "\n"


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "—"


# The README's table sits between these lines; `python -m claimback.settings README.md` rewrites it.
TABLE_START = "<!-- settings table: generated by `make readme-settings` from claimback/settings.py -->"
TABLE_END = "<!-- end of settings table -->"


def with_settings_table(readme: str) -> str:
    """`readme` with the text between TABLE_START and TABLE_END replaced by settings_table()."""
    start, end = readme.index(TABLE_START) + len(TABLE_START), readme.index(TABLE_END)
    return readme[:start] + "\n" + settings_table() + readme[end:]


if __name__ == "__main__":
    import sys

    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(with_settings_table(path.read_text()))
    print(f"settings table written into {path}")
