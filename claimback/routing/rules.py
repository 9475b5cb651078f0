"""Payer rules: filing windows per payer and level, loaded from versioned YAML and validated.

The windows (days, the event the clock counts from, mail days) are payer policy that changes
over time, so they live in `payer_rules.yaml` beside this module, overridable with a file of the
same shape (`--payer-rules FILE`). A malformed file fails fast with `PayerRulesError` naming the
file, the key path and what is wrong — a typo in a deadline rule must never pass silently, since
it would quietly move every deadline of a payer.
"""
from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from claimback.codes import registry

PACKAGED_RULES = Path(__file__).with_name("payer_rules.yaml")

ANCHORS = ("original_remit", "latest_remit", "level1_decision", "date_of_service")
# The filing levels a payer rule defines windows for: the windows the code registry's routes file under.
LEVELS = tuple(dict.fromkeys(registry.filing_routes().values()))
DEFAULT_TREND_THRESHOLD = 10

_LEVEL_KEYS = {"days", "anchor", "mail_days", "source", "notes", "confirmed", "decision_days", "optional",
               "later_of", "earlier_of"}
_SECOND_KEYS = {"days", "anchor", "mail_days"}
_LIMIT_KEYS = {"days", "source", "confirmed", "notes"}
RESUBMISSION = ("replacement", "new_claim")  # how a fully denied claim is corrected
_PAYER_KEYS = {"name", "display_name", "match", "trend_threshold", "notes", "denied_claim_resubmission",
               "filing_limit", "status_inquiry_after", *LEVELS}
_DEFAULT_KEYS = {"trend_threshold", "notes", "denied_claim_resubmission", "filing_limit", "status_inquiry_after",
                 *LEVELS}
_MATCH_KEYS = {"payer_ids", "name_regex", "products"}
# X12 claim filing indicator codes (835 CLP06, 837 SBR09): the product a claim was billed under.
FILING_INDICATORS = ("09", "10", "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI",
                     "HM", "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ")
_TOP_KEYS = {"version", "overturn_priors", "default", "payers"}
_PRIOR_KEYS = {"source", "pseudo_count", "default", "categories"}

class PayerRulesError(ValueError):
    """A payer rules file that cannot be trusted: names the file, the key path and the problem."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid payer rules file {self.path}:\n{listing}")

@dataclass(frozen=True)
class LevelRule:
    """One filing window: `days` (+ `mail_days`) counted from the `anchor` event."""

    level: str
    days: int
    anchor: str
    source: str
    mail_days: int = 0
    decision_days: int | None = None
    confirmed: bool = True
    notes: str | None = None
    inherited: bool = False  # taken from `default` because the payer does not define it
    # A window written "the later of A or B" / "the earlier of A or B": B and which one wins.
    second: tuple[int, str, int] | None = None  # (days, anchor, mail_days)
    combine: str | None = None  # "later" | "earlier"
    optional: bool = False  # the payer makes this level optional (e.g. reconsideration before appeal)

@dataclass(frozen=True)
class DaysSetting:
    """A payer's number of days with its source: `filing_limit` (how long after the date of service
    the payer accepts a first claim) or `status_inquiry_after` (how long after our 837 was sent its
    835 may take before the claim is silent and worth a status inquiry)."""

    days: int
    source: str
    confirmed: bool = True

@dataclass(frozen=True)
class PayerRule:
    """The complete rule set applied to one payer (missing levels filled from `default`)."""

    name: str
    display_name: str
    levels: dict[str, LevelRule]
    trend_threshold: int
    is_default: bool
    matched_by: str  # why this rule applies, e.g. "payer_id CCWA1" or "no payer rule matched: default"
    notes: str | None = None
    # Some payers reject a frequency-7 replacement of a claim they fully denied and want a new
    # frequency-1 claim instead (domain-brief §2): "replacement" (the X12 norm) or "new_claim".
    denied_claim_resubmission: str = "replacement"
    filing_limit: DaysSetting | None = None
    status_inquiry_after: DaysSetting | None = None

    def level(self, level: str) -> LevelRule:
        return self.levels[level]

@dataclass(frozen=True)
class OverturnPriors:
    """Industry P(overturn) per denial category, with the pseudo-count used to smooth own data."""

    categories: dict[str, float]
    default: float
    pseudo_count: float
    source: str

    def for_category(self, category: str | None) -> float:
        return self.categories.get(category or "unknown", self.default)

@dataclass(frozen=True)
class _PayerEntry:
    name: str
    display_name: str
    payer_ids: frozenset[str]
    name_pattern: re.Pattern[str] | None
    levels: dict[str, LevelRule]
    trend_threshold: int
    notes: str | None
    denied_claim_resubmission: str | None  # None: as the default rule says
    filing_limit: DaysSetting | None = None
    status_inquiry_after: DaysSetting | None = None
    # claim filing indicators (CLP06 / SBR09) the rule is for; empty: every product of the payer
    products: frozenset[str] = frozenset()

    def covers(self, product: str | None) -> bool:
        """A rule scoped to products never applies to a claim of another, or an unknown, product."""
        return not self.products or (product or "").strip().upper() in self.products

@dataclass
class PayerRules:
    """All payer rules of one file; `for_payer` picks the rule for a remit's payer."""

    version: str
    path: str
    default: PayerRule
    overturn_priors: OverturnPriors
    _entries: list[_PayerEntry] = field(repr=False, default_factory=list)

    def all_rules(self) -> list[PayerRule]:
        """The default rule and every payer's rule, each with its levels completed from default."""
        return [self.default] + [self._complete(e, f"payer rule {e.name}") for e in self._entries]

    def for_payer(self, payer_id: str | None, payer_name: str | None, product: str | None = None) -> PayerRule:
        """The rule for this payer and product (claim filing indicator, CLP06 / SBR09): by payer_id
        first, then by name pattern, else `default`; a rule naming `products` is skipped for a claim
        of another product, or of none known."""
        pid = (payer_id or "").strip().upper()
        entries = [e for e in self._entries if e.covers(product)]
        scope = lambda e: f" for product {product}" if e.products else ""  # noqa: E731
        if pid:
            for entry in entries:
                if pid in entry.payer_ids:
                    return self._complete(entry, f"payer_id {pid}{scope(entry)}")
        name = (payer_name or "").strip()
        if name:
            for entry in entries:
                if entry.name_pattern is not None and entry.name_pattern.search(name):
                    return self._complete(entry, f"payer name pattern /{entry.name_pattern.pattern}/{scope(entry)}")
        return PayerRule(
            name=self.default.name,
            display_name=self.default.display_name,
            levels=self.default.levels,
            trend_threshold=self.default.trend_threshold,
            is_default=True,
            matched_by="no payer rule matched this payer: conservative default windows",
            notes=self.default.notes,
            denied_claim_resubmission=self.default.denied_claim_resubmission,
            filing_limit=self.default.filing_limit,
            status_inquiry_after=self.default.status_inquiry_after,
        )

    def _complete(self, entry: _PayerEntry, matched_by: str) -> PayerRule:
        levels = {
            level: entry.levels.get(level) or _inherit(self.default.levels[level]) for level in LEVELS
        }
        return PayerRule(
            name=entry.name,
            display_name=entry.display_name,
            levels=levels,
            trend_threshold=entry.trend_threshold,
            is_default=False,
            matched_by=matched_by,
            notes=entry.notes,
            denied_claim_resubmission=entry.denied_claim_resubmission or self.default.denied_claim_resubmission,
            filing_limit=entry.filing_limit or _inherit_limit(self.default.filing_limit),
            status_inquiry_after=entry.status_inquiry_after or _inherit_limit(self.default.status_inquiry_after),
        )

    def with_payer_rules(self, claims: pl.DataFrame) -> pl.DataFrame:
        """`claims` with the columns of payers_frame: the rule of each claim's payer and product
        (claim_filing_indicator)."""
        columns = ["payer_id", "payer_name", "claim_filing_indicator"]
        return claims.join(self.payers_frame(claims.select(columns)), on=columns, how="left", nulls_equal=True)

    def payers_frame(self, payers: pl.DataFrame) -> pl.DataFrame:
        """One row per distinct (payer_id, payer_name[, claim_filing_indicator]): the payer rule that
        applies and its options. With a `claim_filing_indicator` column the product scopes the rules
        (join on it too); without one, rules scoped to products do not apply.

        Rules are matched once per distinct payer (a handful), then joined to any number of
        claims, so routing a million denials never calls Python per row.
        """
        keys = ["payer_id", "payer_name"] + (["claim_filing_indicator"] if "claim_filing_indicator" in payers.columns
                                             else [])
        rows = []
        for payer_id, payer_name, *product in payers.select(keys).unique().iter_rows():
            rule = self.for_payer(payer_id, payer_name, product[0] if product else None)
            limit, inquiry = rule.filing_limit, rule.status_inquiry_after
            rows.append((payer_id, payer_name, *product, rule.name, rule.is_default, rule.denied_claim_resubmission,
                         limit.days if limit else None,
                         bool(limit and limit.confirmed and not rule.is_default),
                         limit.source if limit else None,
                         inquiry.days if inquiry else None,
                         inquiry.source if inquiry else None))
        schema = {
            "payer_id": pl.String,
            "payer_name": pl.String,
            **({"claim_filing_indicator": pl.String} if len(keys) == 3 else {}),
            "payer_rule": pl.String,
            "payer_rule_is_default": pl.Boolean,
            "denied_claim_resubmission": pl.String,
            "filing_limit_days": pl.Int64,
            "filing_limit_confirmed": pl.Boolean,
            "filing_limit_source": pl.String,
            "status_inquiry_after_days": pl.Int64,
            "status_inquiry_source": pl.String,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def windows_frame(self) -> pl.DataFrame:
        """One row per payer rule × level with its window (join on `payer_rule`, `rule_level`)."""
        rows = [
            (rule.name, level, lr.days, lr.anchor, lr.mail_days, lr.decision_days,
             lr.confirmed and not lr.inherited and not rule.is_default, lr.source,
             *(lr.second or (None, None, None)), lr.combine, lr.optional)
            for rule in self.all_rules()
            for level, lr in rule.levels.items()
        ]
        schema = {
            "payer_rule": pl.String,
            "rule_level": pl.String,
            "window_days": pl.Int64,
            "window_anchor": pl.String,
            "mail_days": pl.Int64,
            "decision_days": pl.Int64,
            "rule_confirmed": pl.Boolean,
            "rule_source": pl.String,
            "window2_days": pl.Int64,
            "window2_anchor": pl.String,
            "window2_mail_days": pl.Int64,
            "window_combine": pl.String,
            "level_optional": pl.Boolean,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

def _inherit(rule: LevelRule) -> LevelRule:
    return LevelRule(**{**rule.__dict__, "inherited": True})

def _inherit_limit(limit: DaysSetting | None) -> DaysSetting | None:
    # The default's number is a guess for this payer: usable to argue, never to write a claim off.
    return DaysSetting(limit.days, limit.source, confirmed=False) if limit else None

def load_rules(path: str | Path | None = None) -> PayerRules:
    """Load and validate payer rules: the packaged file, or `path` (the `--payer-rules` file)."""
    file = Path(path) if path is not None else PACKAGED_RULES
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PayerRulesError(file, [f"cannot read the file: {exc.strerror or exc}"]) from None
    return _rules_of(file, text)

# A run asks for its rules in most stages; parsing and checking them took 0.12 s a time.
# Kept by the file's text, so an edited file is read again; PayerRules is never changed once built.
@functools.lru_cache(maxsize=8)
def _rules_of(file: Path, text: str) -> PayerRules:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PayerRulesError(file, [f"not valid YAML{where}: {problem}"]) from None
    return _Validator(file).build(doc)

class _Validator:
    """Walks the parsed YAML, collecting every problem with its key path before failing."""

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[str] = []

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def build(self, doc: Any) -> PayerRules:
        if not isinstance(doc, dict):
            raise PayerRulesError(self.path, ["the file must be a mapping with version, default, payers"])
        self.keys(doc, _TOP_KEYS, "", required={"version", "default", "payers"})
        version = doc.get("version")
        if version is not None and not isinstance(version, (str, int, float)):
            self.fail("version", "must be a string")
        default_entry = self.payer(doc.get("default"), "default", is_default=True)
        priors = self.priors(doc.get("overturn_priors"), "overturn_priors")
        entries = []
        payers = doc.get("payers")
        if not isinstance(payers, list):
            if "payers" in doc:
                self.fail("payers", "must be a list of payer entries")
            payers = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(payers):
            entry = self.payer(raw, f"payers[{i}]", is_default=False)
            if entry is None:
                continue
            if entry.name in seen:
                self.fail(f"payers[{i}].name", f"duplicate payer name '{entry.name}' (also payers[{seen[entry.name]}])")
            seen[entry.name] = i
            entries.append(entry)
        if self.problems:
            raise PayerRulesError(self.path, self.problems)
        assert default_entry is not None
        default = PayerRule(
            name="default",
            display_name="default (no payer rule matched)",
            levels=default_entry.levels,
            trend_threshold=default_entry.trend_threshold,
            is_default=True,
            matched_by="default",
            notes=default_entry.notes,
            denied_claim_resubmission=default_entry.denied_claim_resubmission or "replacement",
            filing_limit=default_entry.filing_limit,
            status_inquiry_after=default_entry.status_inquiry_after,
        )
        return PayerRules(
            version=str(version), path=str(self.path), default=default, overturn_priors=priors, _entries=entries
        )

    def keys(self, obj: dict, allowed: set[str], where: str, required: set[str] = frozenset()) -> None:
        prefix = f"{where}." if where else ""
        for key in obj:
            if key not in allowed:
                self.fail(f"{prefix}{key}", f"unknown key '{key}'{_suggest(str(key), allowed)}")
        for key in sorted(required - set(obj)):
            self.fail(f"{prefix}{key}", "required key is missing")

    def payer(self, raw: Any, where: str, is_default: bool) -> _PayerEntry | None:
        if not isinstance(raw, dict):
            self.fail(where, "must be a mapping")
            return None
        if is_default:
            self.keys(raw, _DEFAULT_KEYS, where, required=set(LEVELS))
        else:
            self.keys(raw, _PAYER_KEYS, where, required={"name", "match"})
        name = "default" if is_default else raw.get("name")
        if not isinstance(name, str) or not name.strip():
            if not is_default and "name" in raw:
                self.fail(f"{where}.name", "must be a non-empty string")
            name = name if isinstance(name, str) else ""
        payer_ids, pattern, products = frozenset(), None, frozenset()
        if not is_default:
            payer_ids, pattern = self.match(raw.get("match"), f"{where}.match")
            products = self.products(raw.get("match"), f"{where}.match.products")
        threshold = raw.get("trend_threshold", DEFAULT_TREND_THRESHOLD)
        if not _is_int(threshold) or threshold < 2:
            self.fail(f"{where}.trend_threshold", f"must be a whole number >= 2, got {threshold!r}")
        levels = {}
        for level in LEVELS:
            if level in raw:
                rule = self.level(raw[level], level, f"{where}.{level}")
                if rule is not None:
                    levels[level] = rule
        display = raw.get("display_name", name)
        notes = raw.get("notes")
        resubmission = raw.get("denied_claim_resubmission")
        if resubmission is not None and resubmission not in RESUBMISSION:
            self.fail(
                f"{where}.denied_claim_resubmission",
                f"unknown value {resubmission!r}{_suggest(str(resubmission), RESUBMISSION)} "
                f"(expected one of {', '.join(RESUBMISSION)})",
            )
            resubmission = None
        limit, inquiry = (self.days_setting(raw[key], f"{where}.{key}") if key in raw else None
                          for key in ("filing_limit", "status_inquiry_after"))
        return _PayerEntry(
            filing_limit=limit,
            status_inquiry_after=inquiry,
            name=name,
            display_name=str(display),
            payer_ids=payer_ids,
            name_pattern=pattern,
            levels=levels,
            trend_threshold=threshold if _is_int(threshold) else DEFAULT_TREND_THRESHOLD,
            notes=str(notes) if notes is not None else None,
            denied_claim_resubmission=resubmission,
            products=products,
        )

    def products(self, match: Any, where: str) -> frozenset[str]:
        raw = match.get("products") if isinstance(match, dict) else None
        if raw is None:
            return frozenset()
        if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
            self.fail(where, "must be a non-empty list of claim filing indicator codes (CLP06 / SBR09)")
            return frozenset()
        codes = [p.strip().upper() for p in raw]
        for code in codes:
            if code not in FILING_INDICATORS:
                self.fail(where, f"unknown claim filing indicator {code!r}{_suggest(code, FILING_INDICATORS)}")
        return frozenset(codes)

    def match(self, raw: Any, where: str) -> tuple[frozenset[str], re.Pattern[str] | None]:
        if not isinstance(raw, dict):
            if raw is not None:
                self.fail(where, "must be a mapping with payer_ids and/or name_regex")
            return frozenset(), None
        self.keys(raw, _MATCH_KEYS, where)
        if not raw.get("payer_ids") and not raw.get("name_regex"):
            self.fail(where, "needs payer_ids and/or name_regex, or the rule can never match")
        ids = raw.get("payer_ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
            self.fail(f"{where}.payer_ids", "must be a list of payer ids")
            ids = []
        pattern = None
        regex = raw.get("name_regex")
        if regex is not None:
            if not isinstance(regex, str):
                self.fail(f"{where}.name_regex", "must be a string")
            else:
                try:
                    pattern = re.compile(regex, re.IGNORECASE)
                except re.error as exc:
                    self.fail(f"{where}.name_regex", f"not a valid regular expression: {exc}")
        return frozenset(str(i).strip().upper() for i in ids), pattern

    def days_setting(self, raw: Any, where: str) -> DaysSetting | None:
        if not isinstance(raw, dict):
            self.fail(where, "must be a mapping with days and source")
            return None
        self.keys(raw, _LIMIT_KEYS, where, required={"days", "source"})
        days, source, confirmed = raw.get("days"), raw.get("source"), raw.get("confirmed", True)
        if not _is_int(days) or days < 1:
            self.fail(f"{where}.days", f"must be a whole number of days >= 1, got {days!r}")
            return None
        if not isinstance(source, str) or not source.strip():
            self.fail(f"{where}.source", "must say where the number comes from (URL or citation)")
            return None
        if not isinstance(confirmed, bool):
            self.fail(f"{where}.confirmed", f"must be true or false, got {confirmed!r}")
            return None
        return DaysSetting(days, source.strip(), confirmed)

    def second_window(self, raw: dict, where: str) -> tuple[tuple[int, str, int] | None, str | None]:
        """The other window of "the later/earlier of" (`later_of` or `earlier_of`), if any."""
        present = [k for k in ("later_of", "earlier_of") if k in raw]
        if not present:
            return None, None
        if len(present) > 1:
            self.fail(where, "later_of and earlier_of cannot both be given")
            return None, None
        key = present[0]
        other = raw[key]
        if not isinstance(other, dict):
            self.fail(f"{where}.{key}", "must be a mapping with days and anchor")
            return None, None
        self.keys(other, _SECOND_KEYS, f"{where}.{key}", required={"days", "anchor"})
        days, anchor, mail = other.get("days"), other.get("anchor"), other.get("mail_days") or 0
        if not _is_int(days) or days < 0 or not _is_int(mail) or mail < 0:
            self.fail(f"{where}.{key}", f"days and mail_days must be whole numbers >= 0, got {days!r}, {mail!r}")
            return None, None
        if anchor not in ANCHORS:
            self.fail(f"{where}.{key}.anchor", f"unknown anchor {anchor!r}{_suggest(str(anchor), ANCHORS)}")
            return None, None
        return (days, anchor, mail), key.split("_")[0]

    def level(self, raw: Any, level: str, where: str) -> LevelRule | None:
        if not isinstance(raw, dict):
            self.fail(where, "must be a mapping with days, anchor, source")
            return None
        self.keys(raw, _LEVEL_KEYS, where, required={"days", "anchor", "source"})
        ok = True
        days = raw.get("days")
        if "days" in raw and (not _is_int(days) or days < 0):
            self.fail(f"{where}.days", f"must be a whole number of days >= 0, got {days!r}")
            ok = False
        anchor = raw.get("anchor")
        if "anchor" in raw and anchor not in ANCHORS:
            self.fail(
                f"{where}.anchor",
                f"unknown anchor {anchor!r}{_suggest(str(anchor), ANCHORS)} (expected one of {', '.join(ANCHORS)})",
            )
            ok = False
        for key in ("mail_days", "decision_days"):
            value = raw.get(key)
            if value is not None and (not _is_int(value) or value < 0):
                self.fail(f"{where}.{key}", f"must be a whole number of days >= 0, got {value!r}")
                ok = False
        source = raw.get("source")
        if "source" in raw and (not isinstance(source, str) or not source.strip()):
            self.fail(f"{where}.source", "must say where the window comes from (URL or citation)")
            ok = False
        confirmed = raw.get("confirmed", True)
        if not isinstance(confirmed, bool):
            self.fail(f"{where}.confirmed", f"must be true or false, got {confirmed!r}")
            ok = False
        optional = raw.get("optional", False)
        if not isinstance(optional, bool):
            self.fail(f"{where}.optional", f"must be true or false, got {optional!r}")
            ok = False
        second, combine = self.second_window(raw, where)
        if not ok or not {"days", "anchor", "source"} <= set(raw):
            return None
        return LevelRule(
            second=second,
            combine=combine,
            optional=optional,
            level=level,
            days=days,
            anchor=anchor,
            source=source.strip(),
            mail_days=raw.get("mail_days") or 0,
            decision_days=raw.get("decision_days"),
            confirmed=confirmed,
            notes=raw.get("notes"),
        )

    def priors(self, raw: Any, where: str) -> OverturnPriors:
        reg = registry.registry()
        fallback = OverturnPriors(categories=registry.overturn_priors(), default=reg.prior_default,
                                  pseudo_count=reg.prior_pseudo_count, source=reg.prior_source)
        if raw is None:  # the code registry's priors; a rules file may still override them
            return fallback
        if not isinstance(raw, dict):
            self.fail(where, "must be a mapping")
            return fallback
        self.keys(raw, _PRIOR_KEYS, where)
        default = raw.get("default", 0.5)
        if not _is_probability(default):
            self.fail(f"{where}.default", f"must be a probability between 0 and 1, got {default!r}")
            default = 0.5
        pseudo = raw.get("pseudo_count", 20)
        if not isinstance(pseudo, (int, float)) or isinstance(pseudo, bool) or pseudo < 0:
            self.fail(f"{where}.pseudo_count", f"must be a number >= 0, got {pseudo!r}")
            pseudo = 20
        categories = raw.get("categories") or {}
        if not isinstance(categories, dict):
            self.fail(f"{where}.categories", "must map category -> probability")
            categories = {}
        clean = {}
        for cat, p in categories.items():
            if not _is_probability(p):
                self.fail(f"{where}.categories.{cat}", f"must be a probability between 0 and 1, got {p!r}")
            else:
                clean[str(cat)] = float(p)
        return OverturnPriors(
            categories=clean, default=float(default), pseudo_count=float(pseudo), source=str(raw.get("source", ""))
        )

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

def _is_probability(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1

def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
