"""Small PNG charts for analysts: denials over time, the work queue by deadline, payer trend clusters.

Each function takes a published table (Polars frame with the contract columns) and returns PNG
bytes, so the same picture can go into Dagster asset metadata (`as_markdown_image`), a notebook or a
report. Charts show payers, codes, categories, routes, counts and dollars only — never patient
names, member IDs or birth dates. Matplotlib runs headless (Agg) through the object API: no pyplot
global state, so charts can be drawn from worker threads and never open a window.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import date

import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from claimback.codes import registry

# Small enough to sit inline in Dagster metadata (a data URI), large enough to read on a laptop.
FIGSIZE = (8.0, 4.2)
DPI = 96
# Beyond this many categories a stacked bar becomes unreadable; the rest are summed as "other".
MAX_CATEGORIES = 7
MAX_CLUSTERS = 15

# Deadline buckets in the order an analyst works them: what is already lost, then what is urgent.
DEADLINE_BUCKETS = ("past deadline", "due in 0-7 days", "8-30 days", "31-90 days", "over 90 days", "no deadline")
_BUCKET_COLOURS = ("#7f7f7f", "#d62728", "#ff7f0e", "#f2c80f", "#2ca02c", "#c7c7c7")
_STATUS_COLOURS = {"flagged": "#d62728", "emerging": "#ff7f0e", "provider_fix": "#7f7f7f"}
_OTHER_STATUS_COLOUR = "#1f77b4"
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def as_markdown_image(png: bytes, alt: str = "chart") -> str:
    """Markdown that shows `png` inline (a base64 data URI), for `dagster.MetadataValue.md`."""
    encoded = base64.b64encode(png).decode("ascii")
    return f"![{alt}](data:image/png;base64,{encoded})"


def denials_by_category_over_time(denials: pl.DataFrame) -> bytes:
    """Denied dollars per remit month, stacked by root-cause category (largest categories first)."""
    fig, ax = _figure()
    monthly = _monthly_dollars_by_category(denials)
    if monthly.is_empty():
        return _empty(fig, ax, "No denied claims in this run")
    months = monthly["month"].to_list()
    labels = [m.strftime("%b %Y") for m in months]
    bottom = [0.0] * len(months)
    categories = [c for c in monthly.columns if c != "month"]
    for colour, category in zip(_cycle(_PALETTE, len(categories)), categories):
        values = monthly[category].to_list()
        ax.bar(labels, values, bottom=bottom, label=category, color=colour, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title("Denied dollars by month of remittance and category")
    ax.set_ylabel("denied dollars")
    ax.yaxis.set_major_formatter(FuncFormatter(_dollar_tick))
    ax.tick_params(axis="x", labelrotation=45 if len(labels) > 6 else 0, labelsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _png(fig)


def work_queue_by_route_and_deadline(work_queue: pl.DataFrame, as_of: date) -> bytes:
    """Claims per route, split by how far each claim's deadline is from `as_of`.

    `resolved` claims are left out: there is nothing to do for them.
    """
    fig, ax = _figure()
    counts = _route_deadline_counts(work_queue, as_of)
    if counts.is_empty():
        return _empty(fig, ax, "The work queue is empty")
    routes = counts["route"].to_list()
    left = [0] * len(routes)
    for bucket, colour in zip(DEADLINE_BUCKETS, _BUCKET_COLOURS):
        if bucket not in counts.columns:
            continue
        values = counts[bucket].to_list()
        ax.barh(routes, values, left=left, label=bucket, color=colour)
        left = [a + v for a, v in zip(left, values)]
    for y, (total, dollars) in enumerate(zip(left, counts["denied_dollars"].to_list())):
        ax.text(total, y, f"  {total:,} claims, {_dollar_tick(dollars)}", va="center", fontsize=7)
    ax.invert_yaxis()  # largest route on top, as it is read
    ax.set_xlim(0, max(left) * 1.45)
    ax.set_title(f"Work queue by route and deadline (as of {as_of.isoformat()})")
    ax.set_xlabel("claims")
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return _png(fig)


def trend_clusters_chart(clusters: pl.DataFrame) -> bytes:
    """One bar per payer trend cluster (claims), coloured by status, with its denied dollars."""
    fig, ax = _figure()
    if clusters.is_empty():
        return _empty(fig, ax, "No payer trend clusters in this run")
    shown = (
        clusters.sort(["claim_count", "denied_amount"], descending=True)
        .head(MAX_CLUSTERS)
        .with_columns(label=pl.col("payer_name").str.slice(0, 28) + " · " + pl.col("signature"))
    )
    statuses = shown["status"].fill_null("flagged").to_list()
    colours = status_colours(statuses)
    ax.barh(shown["label"].to_list(), shown["claim_count"].to_list(), height=0.6,
            color=[colours[s] for s in statuses])
    for y, (n, dollars) in enumerate(zip(shown["claim_count"].to_list(), shown["denied_amount"].to_list())):
        ax.text(n, y, f"  {n} claims, {_dollar_tick(float(dollars or 0))}", va="center", fontsize=7)
    if "threshold" in shown.columns and shown["threshold"].drop_nulls().len():
        ax.axvline(int(shown["threshold"].drop_nulls().min()), color="#333333", linestyle="--", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(shown["claim_count"].to_list()) * 1.45)
    ax.set_title("Payer trend clusters (one payer, same denial codes)")
    ax.set_xlabel("claims (dashed line: report threshold)")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(handles=[_legend_patch(colour, status) for status, colour in colours.items()],
              fontsize=7, loc="lower right", frameon=False)
    if clusters.height > MAX_CLUSTERS:
        ax.annotate(f"largest {MAX_CLUSTERS} of {clusters.height} clusters", xy=(1, -0.12),
                    xycoords="axes fraction", ha="right", fontsize=7)
    return _png(fig)


def status_colours(statuses: list[str]) -> dict[str, str]:
    """The colour of every status drawn, in legend order: the legend lists each colour on the chart,
    a status the chart has no colour for included (drawn in one shared colour, named in the legend)."""
    drawn = set(statuses)
    known = {s: c for s, c in _STATUS_COLOURS.items() if s in drawn}
    return known | {s: _OTHER_STATUS_COLOUR for s in sorted(drawn - set(_STATUS_COLOURS))}


# --- shaping -------------------------------------------------------------------------------------
def _monthly_dollars_by_category(denials: pl.DataFrame) -> pl.DataFrame:
    """Wide frame: month, then one column of denied dollars per category (largest total first)."""
    if denials.is_empty():
        return pl.DataFrame()
    frame = denials.select(
        month=pl.col("remit_date").dt.truncate("1mo"),
        category=pl.col("category").fill_null("unclassified"),
        dollars=pl.col("denied_amount").cast(pl.Float64).fill_null(0.0),
    ).drop_nulls("month")
    ranked = frame.group_by("category").agg(pl.col("dollars").sum()).sort(["dollars", "category"], descending=[True, False])
    keep = ranked["category"].head(MAX_CATEGORIES - 1 if ranked.height > MAX_CATEGORIES else MAX_CATEGORIES).to_list()
    frame = frame.with_columns(
        category=pl.when(pl.col("category").is_in(keep)).then(pl.col("category")).otherwise(pl.lit("other"))
    )
    order = keep + (["other"] if ranked.height > len(keep) else [])
    wide = (
        frame.group_by("month", "category").agg(pl.col("dollars").sum())
        .pivot(on="category", index="month", values="dollars")
        .sort("month")
        .fill_null(0.0)
    )
    return wide.select("month", *[c for c in order if c in wide.columns])


def _deadline_bucket(as_of: date) -> pl.Expr:
    days = (pl.col("deadline") - pl.lit(as_of)).dt.total_days()
    return (
        pl.when(pl.col("deadline").is_null()).then(pl.lit(DEADLINE_BUCKETS[5]))
        .when(days < 0).then(pl.lit(DEADLINE_BUCKETS[0]))
        .when(days <= 7).then(pl.lit(DEADLINE_BUCKETS[1]))
        .when(days <= 30).then(pl.lit(DEADLINE_BUCKETS[2]))
        .when(days <= 90).then(pl.lit(DEADLINE_BUCKETS[3]))
        .otherwise(pl.lit(DEADLINE_BUCKETS[4]))
    )


def _route_deadline_counts(work_queue: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """One row per open route: claims per deadline bucket, denied dollars, largest route first."""
    # the three columns read, then the rows: filtering the whole queue copies its every column
    open_items = work_queue.select("route", "deadline", "denied_amount").filter(pl.col("route") != registry.RESOLVED)
    if open_items.is_empty():
        return pl.DataFrame()
    tagged = open_items.with_columns(bucket=_deadline_bucket(as_of))
    counts = tagged.group_by("route", "bucket").len().pivot(on="bucket", index="route", values="len").fill_null(0)
    totals = tagged.group_by("route").agg(
        claims=pl.len(), denied_dollars=pl.col("denied_amount").cast(pl.Float64).sum()
    )
    return counts.join(totals, on="route").sort(["claims", "route"], descending=[True, False])


# --- drawing -------------------------------------------------------------------------------------
def _figure():
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _png(fig: Figure) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _empty(fig: Figure, ax, message: str) -> bytes:
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555555")
    return _png(fig)


def _legend_patch(colour: str, label: str):
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def _cycle(colours: Sequence[str], n: int) -> list[str]:
    return [colours[i % len(colours)] for i in range(n)]


def _dollar_tick(value: float, _position=None) -> str:
    value = float(value)
    if abs(value) >= 1_000_000:
        return f"${value / 1_000_000:.1f}M"
    if abs(value) >= 1_000:
        return f"${value / 1_000:.0f}k"
    return f"${value:,.0f}"
