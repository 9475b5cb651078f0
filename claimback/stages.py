"""The pipeline's stages as plain functions over the lake: what each Dagster asset calls.

Each stage reads the lake tables it needs, calls the domain modules (denials, trends, routing,
forms), writes its tables back to the lake and returns a small summary without PHI (counts,
dollars, codes, claim numbers) that the assets show as metadata and the CLI prints.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from claimback import schema
from claimback.inbox import scan
from claimback.lake import Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path
    as_of: date
    payer_rules: Path | None = None
    provider_profile: Path | None = None

    @property
    def lake(self) -> Lake:
        return Lake(self.warehouse)


# --- reconsideration history ---------------------------------------------------------------
def load_reconsiderations(settings: Settings) -> dict:
    """Read every *reconsiderations.csv in the inbox; bad rows are reported and skipped."""
    from claimback.reconsiderations import read_log

    logs = [f.path for f in scan(settings.inbox) if f.is_reconsideration_log]
    frame, problems = read_log(logs)
    settings.lake.write_derived("reconsiderations", schema.conform(frame, "reconsiderations"))
    problem_frame = pl.DataFrame(
        [{"source_file": p.get("file"), "line": p.get("line"), "problem": p.get("problem") or p.get("message")}
         for p in map(_as_dict, problems)],
        schema={"source_file": pl.String, "line": pl.Int64, "problem": pl.String},
    )
    settings.lake.write_derived("reconsideration_log_problems", problem_frame)
    return {"files": len(logs), "rows": frame.height, "problems": problem_frame}


def _as_dict(problem) -> dict:
    if isinstance(problem, dict):
        return problem
    return {k: getattr(problem, k) for k in ("file", "line", "problem", "message") if hasattr(problem, k)}


# --- denials ---------------------------------------------------------------------------------
def build_denials(settings: Settings) -> dict:
    from claimback import denials as denial_rules
    from claimback import lifecycle

    lake = settings.lake
    tables = {t: lake.read(t) for t in (
        "remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks",
        "submitted_claims", "submitted_service_lines",
    )}
    denied = denial_rules.build_denials(**tables, as_of=settings.as_of)
    lake.write_derived("denials", denied)
    lines = denial_rules.denial_lines(**{k: tables[k] for k in (
        "remit_claims", "remit_service_lines", "remit_adjustments", "remit_remarks")}, denials=denied)
    lake.write_derived("denial_lines", lines)
    history = lifecycle.adjudication_history(tables["remit_claims"])
    lake.write_derived("claim_history", history)
    latest = history.filter(pl.col("is_latest"))
    return {
        "adjudicated_claims": latest.height,
        "denied_claims": denied.height,
        "denied_amount": float(denied["denied_amount"].cast(pl.Float64).sum() or 0),
        "by_category": denial_rules.denial_summary(denied),
        "denials": denied,
    }


# --- trends ----------------------------------------------------------------------------------
def find_trends(settings: Settings) -> dict:
    from claimback import forms, trends
    from claimback.routing import load_rules

    lake = settings.lake
    rules = load_rules(settings.payer_rules)
    denied = lake.read("denials")
    clusters, members = trends.find_clusters(
        denied,
        as_of=settings.as_of,
        thresholds_by_payer=rules.trend_thresholds(),
        submitted_claims=lake.read("submitted_claims"),
        submitted_service_lines=lake.read("submitted_service_lines"),
    )
    previous = set(lake.read("trend_clusters").filter(pl.col("status") == "flagged")["cluster_id"].to_list())
    lake.write_derived("trend_clusters", clusters)
    lake.write_derived("trend_cluster_claims", members)
    # What changed since the last run, for the check that tells analysts a new trend appeared.
    lake.write_derived("new_trend_clusters", clusters.filter(
        (pl.col("status") == "flagged") & ~pl.col("cluster_id").is_in(sorted(previous))))
    provider = provider_profile(settings)
    packets = forms.write_packets(
        clusters.filter(pl.col("status") == "flagged"), members, denied, provider,
        settings.warehouse / "packets" / "trends",
    )
    lake.write_derived("trend_packets", packets)
    return {"clusters": clusters, "packets": packets.height}


def provider_profile(settings: Settings):
    from claimback.forms import ProviderProfile

    if settings.provider_profile:
        return ProviderProfile.from_yaml(settings.provider_profile)
    return ProviderProfile.from_claims(settings.lake.read("submitted_claims"))


# --- routing ---------------------------------------------------------------------------------
def route_denials(settings: Settings) -> dict:
    from claimback import lifecycle
    from claimback.routing import build_work_queue, load_rules

    lake = settings.lake
    rules = load_rules(settings.payer_rules)
    history = lake.read("claim_history")
    log_rows = lifecycle.infer_level1_outcomes(lake.read("reconsiderations"), history)
    members = lake.read("trend_cluster_claims").join(
        lake.read("trend_clusters").filter(pl.col("status") == "flagged").select("cluster_id"),
        on="cluster_id", how="semi",
    )
    queue, report = build_work_queue(
        lake.read("denials"), log_rows, members, rules, settings.as_of,
        resolved=resolved_claims(history),
    )
    lake.write_derived("work_queue", queue)
    lake.write_derived("reconsideration_outcomes", log_rows)
    return {"work_queue": queue, "model": report}


def resolved_claims(history: pl.DataFrame) -> pl.DataFrame | None:
    """Claims denied at some adjudication whose latest adjudication pays: money recovered."""
    from claimback import lifecycle

    if hasattr(lifecycle, "resolved_claims"):
        return lifecycle.resolved_claims(history)
    return None


# --- publish ---------------------------------------------------------------------------------
def publish(settings: Settings, sql_dir: Path | None):
    from claimback.publish import publish as publish_lake

    return publish_lake(settings.lake, sql_dir, as_of=settings.as_of)
