"""The code registry: route names and what each denial category, CARC and remark means for the work.

One data file (`data/registry.yaml`) holds, per denial category: who fixes it, the default route,
whether 10+ of it at one payer is a payer trend or the provider's own fix, the reason wording and
the overturn prior; per CARC and remark code that changes the road: its route and reason; and the
route vocabulary itself (which payer-rule window each route files under, the analyst hours it
takes). The code classifier, the router, the trend finder and the overturn priors read it here,
so none of them restates it.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

REGISTRY_FILE = Path(__file__).resolve().parent / "data" / "registry.yaml"

TREND_KINDS = ("payer_trend", "provider_fix")

# The routes code decides on by name (each must be a route of registry.yaml; checked on load).
TREND_REPORT = "trend_report"
CORRECTED_CLAIM = "corrected_claim"
LEVEL1 = "level1_reconsideration"
LEVEL2 = "level2_dispute"
CLINICAL_APPEAL = "clinical_appeal"
REBILL_OTHER_PAYER = "rebill_other_payer"
BILL_PATIENT = "bill_patient"
AWAIT_CROSSOVER = "await_crossover"
EXPIRED = "expired"
RESOLVED = "resolved"
CLAIM_STATUS_INQUIRY = "claim_status_inquiry"
_NAMED = (TREND_REPORT, CORRECTED_CLAIM, LEVEL1, LEVEL2, CLINICAL_APPEAL, REBILL_OTHER_PAYER, BILL_PATIENT,
          AWAIT_CROSSOVER, EXPIRED, RESOLVED, CLAIM_STATUS_INQUIRY)


@dataclass(frozen=True)
class Route:
    name: str
    words: str
    window: str | None  # the payer-rule level whose filing window applies; None: nothing to file
    by_code: bool  # a code alone may suggest it
    hours: float  # analyst time one request takes
    prior: float | None = None  # share of a route's dollars a worked item recovers, when no category says


@dataclass(frozen=True)
class Category:
    name: str
    fixable_by: str
    route: str
    many: str  # payer_trend | provider_fix
    prior: float
    reason: str


@dataclass(frozen=True)
class CodeRoute:
    code: str
    route: str
    reason: str


@dataclass(frozen=True)
class Registry:
    routes: dict[str, Route]
    categories: dict[str, Category]
    codes: dict[str, CodeRoute]  # CARC -> its own route
    remarks: dict[str, CodeRoute]  # RARC -> the route it imposes
    groups: dict[str, CodeRoute]  # group code -> the route it imposes on a denial
    prior_default: float
    prior_pseudo_count: float
    prior_source: str


class RegistryError(ValueError):
    """The registry file contradicts itself (an unknown route or category)."""


@functools.cache
def registry() -> Registry:
    """The packaged registry, validated once per process."""
    # libyaml's loader where PyYAML has it (5x faster: 6 against 31 ms, paid by every process that
    # reads an X12 file, since the schema's routes come from here); the same document either way
    doc = yaml.load(REGISTRY_FILE.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    routes = {
        name: Route(name, str(r["words"]), r.get("window"), bool(r.get("by_code")), float(r.get("hours", 0)),
                    float(r["prior"]) if r.get("prior") is not None else None)
        for name, r in doc["routes"].items()
    }
    categories = {
        name: Category(name, c["fixable_by"], c["route"], c["many"], float(c["prior"]), c["reason"])
        for name, c in doc["categories"].items()
    }
    codes = {str(k): CodeRoute(str(k), v["route"], v["reason"]) for k, v in (doc.get("codes") or {}).items()}
    remarks = {str(k): CodeRoute(str(k), v["route"], v["reason"]) for k, v in (doc.get("remarks") or {}).items()}
    groups = {str(k): CodeRoute(str(k), v["route"], v["reason"]) for k, v in (doc.get("groups") or {}).items()}
    problems = [f"category {c.name}: unknown route {c.route}" for c in categories.values() if c.route not in routes]
    problems += [f"category {c.name}: many must be one of {TREND_KINDS}" for c in categories.values()
                 if c.many not in TREND_KINDS]
    problems += [f"code {c.code}: unknown route {c.route}" for c in [*codes.values(), *remarks.values(), *groups.values()]
                 if c.route not in routes]
    problems += [f"route {name} is used by the code but missing from routes" for name in _NAMED if name not in routes]
    if problems:
        raise RegistryError(f"{REGISTRY_FILE.name}: " + "; ".join(problems))
    priors = doc["priors"]
    return Registry(routes, categories, codes, remarks, groups, float(priors["default"]), float(priors["pseudo_count"]),
                    str(priors["source"]))


def route_names() -> tuple[str, ...]:
    """Every value work_queue.route can take."""
    return tuple(registry().routes)


def filing_routes() -> dict[str, str]:
    """Route -> the payer-rule level whose filing window applies, for routes that file something."""
    return {r.name: r.window for r in registry().routes.values() if r.window}


def code_routes() -> tuple[str, ...]:
    """Routes a denial code alone may suggest."""
    return tuple(r.name for r in registry().routes.values() if r.by_code)


def category_names() -> tuple[str, ...]:
    """Every denial category, in the registry's order."""
    return tuple(registry().categories)


def category_defaults() -> dict[str, tuple[str, str]]:
    """Category -> (who fixes it, default route)."""
    return {c.name: (c.fixable_by, c.route) for c in registry().categories.values()}


def provider_fix_categories() -> tuple[str, ...]:
    """Categories where 10+ claims at one payer are the provider's own fix, not a payer trend."""
    return tuple(c.name for c in registry().categories.values() if c.many == "provider_fix")


def overturn_priors() -> dict[str, float]:
    """Category -> industry P(overturn) of a request."""
    return {c.name: c.prior for c in registry().categories.values()}
