"""The claim book: every synthetic claim's facts, drawn column-wise with numpy.

One `ClaimBook` holds a block of claims (the generator works block by block so memory stays
bounded at a million claims): who billed whom for what, when it was served, submitted and
first remitted, what each line charges and the payer allows, and how the first adjudication
goes (paid, paid to deductible, or which denial). Columns are plain lists because the
renderers index them one claim at a time, which is much faster on lists than on arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from claimback.synth.denials import DENIAL_KINDS, KIND_INDEX, PLANTED_TRENDS, PlantedTrend
from claimback.synth.pools import PAYER_INDEX, PAYERS, PROCEDURES, PROVIDERS, People, make_people

PAID = -1  # clean claim, contractual + patient share only
DEDUCTIBLE = -2  # processed, nothing paid: all of it applied to the deductible (not a denial)

DENIAL_SHARE = 0.10  # claims denied in whole or part (Change Healthcare index: 9-11 %)
LINE_COUNT_P = np.array([0.38, 0.33, 0.19, 0.10])  # 1..4 lines
LINE_COUNT_I = np.array([0.20, 0.22, 0.22, 0.16, 0.12, 0.08])  # 1..6
LINE_COUNT_D = np.array([0.45, 0.35, 0.20])  # 1..3
AUTH_PROCEDURES = {"97110", "97140", "97530", "97112", "97116", "70450", "73721", "29881", "D2740"}


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 for day numbers counted from 1970-01-01 (a Thursday)."""
    return (days + 3) % 7


def snap_forward(days: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The first day on or after `days` that falls on the payer's check weekday."""
    return days + (target - weekday(days)) % 7


def snap_back(days: np.ndarray, target: np.ndarray) -> np.ndarray:
    return days - (weekday(days) - target) % 7


def rising_weekly_offsets(claims: int, older: int, newer: int) -> np.ndarray:
    """Days before as_of for an emerging signature: week k of the window gets weight k + 1,
    so each weekly check run carries at least as many of its claims as the one before."""
    weeks = max(1, (older - newer) // 7)
    share = claims * np.arange(1, weeks + 1) / (weeks * (weeks + 1) / 2)
    counts = np.floor(share).astype(np.int64)
    for k in np.argsort(-(share - counts), kind="stable")[: claims - counts.sum()]:
        counts[k] += 1
    return np.repeat(newer + 7 * np.arange(weeks - 1, -1, -1), counts)


@dataclass
class ClaimBook:
    serial0: int  # global number of the block's first claim
    pcn: list[str]
    provider: list[int]
    renderer: list[int]
    patient: list[int]
    payer: list[int]
    claim_type: list[str]
    service_from: list[int]  # day numbers (days since 1970-01-01)
    service_to: list[int]
    submit_day: list[int]
    first_remit_day: list[int]  # -1: not adjudicated by as_of
    outcome: list[int]  # PAID, DEDUCTIBLE or an index into DENIAL_KINDS
    denied_line: list[int]  # line (0-based) a line-level denial hits
    claim_level_only: list[bool]  # whole-claim denial sent as claim CAS without SVC loops
    auth: list[str]  # REF*G1 value or ""
    diagnoses: list[tuple[str, ...]]
    trend: list[str]  # planted trend id or ""
    line_start: list[int]
    line_count: list[int]
    # service lines, flat
    procedure: list[int]  # index into the provider's procedure list
    modifier: list[str]
    units: list[int]
    charge: list[int]  # cents
    allowed: list[int]  # cents the payer allows on a clean line
    patient_share: list[int]  # cents of the allowed amount left to the patient
    patient_share_reason: list[str]  # PR CARC: 1 deductible, 2 coinsurance, 3 copay
    line_day: list[int]
    people: People = field(repr=False)
    # evidence cases (claimback.synth.evidence): set after the draws, never drawn here
    case: list[str] = field(default_factory=list)  # the planted case, "partner" or ""
    referral: list[str] = field(default_factory=list)  # REF*9F value or ""
    other_payer: list[int] = field(default_factory=list)  # index into PAYERS of the primary, or -1
    # paid under a wrong fee schedule (claimback.synth.underpaid): set after the draws
    underpaid: list[bool] = field(default_factory=list)
    # the day of the first check run after as_of, for a claim the payer had not answered by then;
    # -1 otherwise (claimback.synth.story.later_remittances)
    later_remit_day: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pcn)

    def total_charge(self, c: int) -> int:
        s = self.line_start[c]
        return sum(self.charge[s:s + self.line_count[c]])


def _trend_slots(rng: np.random.Generator, n: int) -> list[tuple[PlantedTrend, np.ndarray]]:
    """Which claims of the block carry each planted trend (disjoint random positions)."""
    total = sum(t.claims for t in PLANTED_TRENDS)
    positions = rng.choice(n, size=total, replace=False)
    out, at = [], 0
    for trend in PLANTED_TRENDS:
        out.append((trend, positions[at:at + trend.claims]))
        at += trend.claims
    return out


@dataclass
class _Parties:
    """Who is on each claim: billing provider, rendering provider, payer, patient."""

    provider: np.ndarray
    renderer: np.ndarray
    payer: np.ndarray
    patient: np.ndarray | None = None


def _draw_parties(rng: np.random.Generator, n: int) -> _Parties:
    """Providers by volume; each provider sees the payers of its market."""
    prov_w = np.array([p.weight for p in PROVIDERS])
    provider = rng.choice(len(PROVIDERS), size=n, p=prov_w / prov_w.sum())
    n_renderers = np.array([len(p.renderers) for p in PROVIDERS])
    renderer = (rng.random(n) * n_renderers[provider]).astype(np.int64)
    mix = np.zeros((len(PROVIDERS), len(PAYERS)))
    for pi, prov in enumerate(PROVIDERS):
        for payer_id, share in prov.payer_mix:
            mix[pi, PAYER_INDEX[payer_id]] = share
    cumulative = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    payer = (rng.random(n)[:, None] > cumulative[provider]).sum(axis=1)
    return _Parties(provider, renderer, payer)


def _draw_outcomes(rng: np.random.Generator, n: int, parties: _Parties,
                   trend_slots: list[tuple[PlantedTrend, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """First adjudication of each claim, with the planted trend claims put in place.

    The background denial share leaves room for the planted claims, so the overall rate
    stays near the industry figure at any size. Returns (outcome, trend id, first procedure).
    """
    planted = sum(len(s) for _, s in trend_slots)
    denial_rate = max(0.03, (DENIAL_SHARE * n - planted) / n)
    kind_w = np.array([k.weight for k in DENIAL_KINDS])
    outcome = np.where(rng.random(n) < denial_rate,
                       rng.choice(len(DENIAL_KINDS), size=n, p=kind_w / kind_w.sum()), PAID)
    trend = np.full(n, "", dtype=object)
    start_proc = rng.integers(0, 1_000, n)
    for t, slots in trend_slots:
        parties.provider[slots] = t.provider
        if t.renderer is not None:
            parties.renderer[slots] = t.renderer
        else:
            parties.renderer[slots] = rng.integers(0, len(PROVIDERS[t.provider].renderers), len(slots))
        parties.payer[slots] = PAYER_INDEX[t.payer_id]
        outcome[slots] = KIND_INDEX[t.kind]
        trend[slots] = t.trend_id
        codes = [p.code for p in PROVIDERS[t.provider].procedures]
        start_proc[slots] = codes.index(t.procedure)
    return outcome, trend, start_proc


def _draw_patients(rng: np.random.Generator, people: People, payer: np.ndarray) -> np.ndarray:
    """For each claim someone covered by its payer."""
    covered_by = np.array(people.payer)
    patient = np.zeros(len(payer), dtype=np.int64)
    for pi in range(len(PAYERS)):
        mask = payer == pi
        covered = np.flatnonzero(covered_by == pi)
        if not len(covered):  # a tiny pool may miss a payer: enrol someone
            covered = np.array([pi % len(covered_by)])
            people.payer[pi % len(covered_by)] = pi
        patient[mask] = covered[rng.integers(0, len(covered), int(mask.sum()))]
    return patient


@dataclass
class _Lines:
    count: np.ndarray
    start: np.ndarray
    claim: np.ndarray  # claim of each line
    position: np.ndarray  # 0-based position in its claim
    procedure: np.ndarray
    code: np.ndarray
    modifier: np.ndarray
    units: np.ndarray
    charge: np.ndarray
    allowed: np.ndarray
    share: np.ndarray
    share_reason: np.ndarray


def _draw_lines(rng: np.random.Generator, claim_type: np.ndarray, parties: _Parties,
                start_proc: np.ndarray, outcome: np.ndarray) -> _Lines:
    """Service lines with charges, the payer's allowed amount and the patient's share."""
    n = len(claim_type)
    count = np.empty(n, dtype=np.int64)
    for ctype, dist in (("P", LINE_COUNT_P), ("I", LINE_COUNT_I), ("D", LINE_COUNT_D)):
        mask = claim_type == ctype
        count[mask] = rng.choice(len(dist), size=int(mask.sum()), p=dist) + 1
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    n_lines = int(count.sum())
    claim = np.repeat(np.arange(n), count)
    position = np.arange(n_lines) - start[claim]

    # Consecutive procedures of the provider's list keep the lines of one claim distinct.
    line_provider = parties.provider[claim]
    proc = (start_proc[claim] + position) % PROCEDURES.sizes[line_provider]
    rows = PROCEDURES.rows(line_provider, proc)
    units = 1 + (rng.random(n_lines) * PROCEDURES.max_units[rows]).astype(np.int64)
    charge = PROCEDURES.charge_cents[rows] * units
    line_payer = parties.payer[claim]
    ratio = np.array([p.allowed_ratio for p in PAYERS])[line_payer]
    allowed = np.round(charge * ratio * rng.uniform(0.9, 1.04, n_lines)).astype(np.int64)
    allowed = np.minimum(allowed, charge)

    commercial = np.array([p.filing_indicator == "CI" for p in PAYERS])[line_payer]
    pick = rng.random(n_lines)
    # Commercial plans leave coinsurance or a copay on most lines; Medicaid plans rarely.
    coins = commercial & (pick < 0.45)
    copay = (commercial & (pick >= 0.45) & (pick < 0.7) & (position == 0)) | (
        ~commercial & (pick < 0.05) & (position == 0))
    share = np.where(coins, allowed // 5, 0)
    share = np.where(copay, np.minimum(allowed, np.where(commercial, 2500, 400)), share)
    share_reason = np.where(coins, "2", np.where(copay, "3", ""))
    deductible_line = (outcome == DEDUCTIBLE)[claim]
    share = np.where(deductible_line, allowed, share)
    share_reason = np.where(deductible_line, "1", share_reason)
    return _Lines(count, start, claim, position, proc, PROCEDURES.code[rows], PROCEDURES.modifier[rows],
                  units, charge, allowed, share, share_reason)


@dataclass
class _Dates:
    service_from: np.ndarray
    service_to: np.ndarray
    submit: np.ndarray
    remit: np.ndarray  # -1: no remittance by as_of
    line_day: np.ndarray
    later_remit: np.ndarray  # the first check run after as_of, -1 for a claim remitted by then


def _draw_dates(rng: np.random.Generator, service: np.ndarray, outcome: np.ndarray, payer: np.ndarray,
                claim_type: np.ndarray, lines: _Lines, trend_slots, as_of_day: int) -> _Dates:
    """Submission 2-25 days after service; remittance after the payer's processing lag, on
    the payer's check weekday. Timely-filing denials were submitted far too late; planted
    trend claims are remitted inside their trend's window."""
    n = len(service)
    submit_lag = rng.integers(2, 26, n)
    late = outcome == KIND_INDEX["timely_filing"]
    submit_lag[late] = rng.integers(130, 260, int(late.sum()))
    service = np.where(late, service - submit_lag + 20, service)
    lag_lo = np.array([p.lag_days[0] for p in PAYERS])[payer]
    lag_hi = np.array([p.lag_days[1] for p in PAYERS])[payer]
    pay_lag = lag_lo + (rng.random(n) * (lag_hi - lag_lo)).astype(np.int64)
    check_day = np.array([p.check_weekday for p in PAYERS])[payer]
    submit = service + submit_lag
    remit = snap_forward(submit + pay_lag, check_day)
    for t, slots in trend_slots:
        older, newer = t.window_days
        if t.expected == "emerging":
            offsets = rising_weekly_offsets(len(slots), older, newer)
        else:
            offsets = rng.integers(newer, older + 1, len(slots))
        remit[slots] = snap_back(as_of_day - offsets.astype(np.int64), check_day[slots])
        submit[slots] = remit[slots] - pay_lag[slots]
        service[slots] = submit[slots] - submit_lag[slots]
    later = np.where(remit > as_of_day, remit, -1)
    remit = np.where(remit <= as_of_day, remit, -1)
    stay = np.where(claim_type == "I", (rng.random(n) < 0.15) * rng.integers(1, 5, n), 0)
    line_day = service[lines.claim] + np.minimum(lines.position, stay[lines.claim])
    return _Dates(service, service + stay, submit, remit, line_day, later)


def _draw_authorizations(rng: np.random.Generator, lines: _Lines, outcome: np.ndarray,
                         trend: np.ndarray, trend_slots) -> list[str]:
    """REF*G1 values: most claims with therapy, imaging or crowns carry one."""
    n = len(outcome)
    claim_needs_auth = np.zeros(n, dtype=bool)
    np.logical_or.at(claim_needs_auth, lines.claim, np.isin(lines.code, list(AUTH_PROCEDURES)))
    has_auth = claim_needs_auth & (rng.random(n) < 0.75)
    auth_kinds = np.isin(outcome, [KIND_INDEX["auth_absent"], KIND_INDEX["auth_invalid"]])
    # Most authorization denials are real (no auth on file); a third are the payer's mistake.
    has_auth = np.where(auth_kinds & (trend == ""), rng.random(n) < 0.33, has_auth)
    # CO-210: the authorization exists but came late, so the 837 carries it
    has_auth = has_auth | (outcome == KIND_INDEX["auth_late"])
    for t, slots in trend_slots:
        has_auth[slots] = t.with_auth
    numbers = rng.integers(10_000_000, 99_999_999, n)
    return [f"A{a}" if h else "" for a, h in zip(numbers.tolist(), has_auth.tolist())]


def _draw_diagnoses(rng: np.random.Generator, provider: list[int]) -> list[tuple[str, ...]]:
    """One to three consecutive codes of the provider's usual diagnoses, principal first."""
    n = len(provider)
    first = rng.integers(0, 1_000, n).tolist()
    count = rng.integers(1, 4, n).tolist()
    pools = [p.diagnoses for p in PROVIDERS]
    out = []
    for c in range(n):
        pool = pools[provider[c]]
        at = first[c] % len(pool)
        out.append(tuple(pool[(at + i) % len(pool)] for i in range(min(count[c], len(pool)))))
    return out


def _patient_control_numbers(provider: list[int], counters: dict[int, int]) -> list[str]:
    """Each practice numbers its own claims: prefix + its running count (`counters`, carried
    from block to block). Practices sharing a prefix therefore reuse each other's numbers."""
    prefixes = [p.pcn_prefix for p in PROVIDERS]
    out = []
    for p in provider:
        counters[p] = counters.get(p, 0) + 1
        out.append(f"{prefixes[p]}{counters[p]:08d}")
    return out


def build_book(rng: np.random.Generator, n: int, serial0: int, as_of_day: int, months: int,
               plant_trends: bool, pcn_counters: dict[int, int] | None = None) -> ClaimBook:
    """Draw `n` claims served over `months` months ending 25 days before as_of.

    `pcn_counters` (practice -> claims numbered so far) continues the practices' numbering from
    an earlier block; a new dict starts it at 1."""
    people = make_people(rng, max(60, n // 3), serial0)
    parties = _draw_parties(rng, n)
    window = int(months * 30.44)
    service = rng.integers(as_of_day - window - 25, as_of_day - 25, n)
    trend_slots = _trend_slots(rng, n) if plant_trends else []
    outcome, trend, start_proc = _draw_outcomes(rng, n, parties, trend_slots)
    patient = _draw_patients(rng, people, parties.payer)
    deductible_share = np.where(parties.payer == PAYER_INDEX["ACME1"], 0.06, 0.01)
    deductible = (outcome == PAID) & (rng.random(n) < deductible_share) & (trend == "")
    outcome = np.where(deductible, DEDUCTIBLE, outcome)

    claim_type = np.array([p.claim_type for p in PROVIDERS])[parties.provider]
    lines = _draw_lines(rng, claim_type, parties, start_proc, outcome)
    denied_line = (rng.random(n) * lines.count).astype(np.int64)
    denied_line[trend != ""] = 0
    claim_level_only = rng.random(n) < 0.3
    dates = _draw_dates(rng, service, outcome, parties.payer, claim_type, lines, trend_slots, as_of_day)
    auth = _draw_authorizations(rng, lines, outcome, trend, trend_slots)
    provider = parties.provider.tolist()
    diagnoses = _draw_diagnoses(rng, provider)

    return ClaimBook(
        serial0=serial0,
        pcn=_patient_control_numbers(provider, {} if pcn_counters is None else pcn_counters),
        provider=provider,
        renderer=parties.renderer.tolist(),
        patient=patient.tolist(),
        payer=parties.payer.tolist(),
        claim_type=claim_type.tolist(),
        service_from=dates.service_from.tolist(),
        service_to=dates.service_to.tolist(),
        submit_day=dates.submit.tolist(),
        first_remit_day=dates.remit.tolist(),
        later_remit_day=dates.later_remit.tolist(),
        outcome=outcome.tolist(),
        denied_line=denied_line.tolist(),
        claim_level_only=claim_level_only.tolist(),
        auth=auth,
        diagnoses=diagnoses,
        trend=trend.tolist(),
        line_start=lines.start.tolist(),
        line_count=lines.count.tolist(),
        procedure=lines.procedure.tolist(),
        modifier=lines.modifier.tolist(),
        units=lines.units.tolist(),
        charge=lines.charge.tolist(),
        allowed=lines.allowed.tolist(),
        patient_share=lines.share.tolist(),
        patient_share_reason=lines.share_reason.tolist(),
        line_day=dates.line_day.tolist(),
        people=people,
        case=[""] * n,
        referral=[""] * n,
        other_payer=[-1] * n,
    )
