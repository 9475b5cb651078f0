"""P(overturn): how likely a Level I on this denial is to win, learned from our own history.

The organisation's past Level I outcomes (logged, or inferred from later 835s) are joined to the
features of the denials they disputed — category, primary CARC, payer, log denied amount, days
from the first remit to filing, RARC presence, claim- vs line-level — and a regularised logistic
regression over one-hot codes plus a category×payer cross, with sigmoid-calibrated
probabilities, is fitted. It is judged on a TIME-BASED split (train on
the older 75% of filings, test on the newest 25%) against the honest baseline: the overturn rate
per category in the training data, smoothed toward industry priors (domain-brief §3.6, shipped in
payer_rules.yaml). The model is used only when it beats that baseline on held-out data — Brier
lower AND an AUC lift whose bootstrap 90% interval stays above zero — so noise never passes for
signal. With thin history (< MIN_DECIDED decided outcomes, or one class) the priors are used and
the report says so.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from claimback.routing.history import carc_category, denial_history, is_adjudications
from claimback.routing.rules import OverturnPriors

MIN_DECIDED = 200
TEST_SHARE = 0.25
RANDOM_STATE = 0
BOOTSTRAP_ROUNDS = 200

CATEGORICAL = ("category", "primary_carc", "payer", "denial_level")
NUMERIC = ("log_denied_amount", "days_to_file", "has_remarks", "reason_code_count")


@dataclass
class ModelReport:
    """How P(overturn) was obtained and how well each candidate did on held-out, newer data."""

    used: str  # "model" | "priors"
    reason: str
    n_train: int = 0
    n_test: int = 0
    auc_model: float | None = None
    auc_baseline: float | None = None
    brier_model: float | None = None
    brier_baseline: float | None = None
    n_decided: int = 0
    overturn_rate: float | None = None
    auc_lift_ci_low: float | None = None  # 5th pct of bootstrap AUC(model) - max(AUC(baseline), 0.5)
    test_from: dt.date | None = None  # first filing date in the held-out (newest) slice
    history_source: str = "denials"  # adjudications | denials | current_denials_only
    features: list[str] = field(default_factory=lambda: [*CATEGORICAL, *NUMERIC])

    def as_dict(self) -> dict:
        out = asdict(self)
        out["test_from"] = self.test_from.isoformat() if self.test_from else None
        return out


_SOURCE_COLUMNS = {
    "category": pl.String,
    "primary_reason": pl.String,
    "payer_id": pl.String,
    "payer_name": pl.String,
    "denial_level": pl.String,
    "denied_amount": pl.Float64,
    "remark_codes": pl.List(pl.String),
    "reason_codes": pl.List(pl.String),
    "first_remit_date": pl.Date,
    "remit_date": pl.Date,
}


def _with_sources(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in _SOURCE_COLUMNS.items() if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def feature_frame(frame: pl.DataFrame, filed_on: pl.Expr) -> pl.DataFrame:
    """The model's features for each denial; `filed_on` is when the Level I was (or would be) filed.

    Columns a history lacks (the adjudications carry no remark codes) become unknown/zero.
    """
    frame = _with_sources(frame)
    first_remit = pl.coalesce(pl.col("first_remit_date"), pl.col("remit_date"))
    return frame.select(
        category=pl.col("category").fill_null("unknown"),
        primary_carc=pl.col("primary_reason").fill_null("none"),
        payer=pl.coalesce(pl.col("payer_id"), pl.col("payer_name")).fill_null("unknown"),
        denial_level=pl.col("denial_level").fill_null("unknown"),
        log_denied_amount=pl.col("denied_amount").cast(pl.Float64).fill_null(0).clip(lower_bound=0).log1p(),
        days_to_file=(filed_on - first_remit).dt.total_days().cast(pl.Float64),
        has_remarks=(pl.col("remark_codes").list.len().fill_null(0) > 0).cast(pl.Float64),
        reason_code_count=pl.col("reason_codes").list.len().fill_null(0).cast(pl.Float64),
    )


def training_rows(denial_history: pl.DataFrame, level1: pl.DataFrame) -> pl.DataFrame:
    """Decided Level I outcomes joined to the denial they disputed: features + `overturned` + `submitted_on`.

    `level1` holds one row per Level I request (patient_control_number, submitted_on, outcome);
    a partial win counts as not overturned (the dispute was unsatisfactory, docs/design.md).
    """
    decided = level1.filter(
        pl.col("outcome").is_in(["overturned", "upheld", "partial"]) & pl.col("submitted_on").is_not_null()
    ).select("patient_control_number", "submitted_on", overturned=(pl.col("outcome") == "overturned"))
    denials = _with_sources(denial_history).sort(pl.coalesce("first_remit_date", "remit_date"), nulls_last=True).unique(
        "patient_control_number", keep="first", maintain_order=True
    )
    joined = decided.join(denials, on="patient_control_number", how="inner")
    return pl.concat(
        [feature_frame(joined, pl.col("submitted_on")), joined.select("overturned", "submitted_on")],
        how="horizontal",
    )


class PriorTable:
    """Overturn rate per category: own history smoothed toward the industry prior."""

    def __init__(self, priors: OverturnPriors, rows: pl.DataFrame | None = None):
        self.priors = priors
        self.rates: dict[str, float] = {}
        if rows is not None and rows.height:
            m = priors.pseudo_count
            for category, n, wins in (
                rows.group_by("category").agg(pl.len(), pl.col("overturned").sum()).iter_rows()
            ):
                self.rates[category] = (wins + m * priors.for_category(category)) / (n + m)

    def rate(self, category: str) -> float:
        return self.rates.get(category, self.priors.for_category(category))

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        rates = {**self.priors.categories, **self.rates}
        return (
            features["category"]
            .replace_strict(rates, default=self.priors.default, return_dtype=pl.Float64)
            .to_numpy()
        )


def _estimator():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    n_cat = len(CATEGORICAL) + 1  # + the category×payer cross
    # The one-hot codes as a sparse matrix: a row holds five ones among a few hundred columns.
    # Dense, the matrix was most of the scoring, which the three calibration folds' models each do
    # (400 k rows: 1.6-3.3 CPU s dense, 0.6-1.0 sparse; the fit 0.8-1.0 -> 0.25); the fit and the
    # probabilities are the same to 1e-12 (10 M claims: 12 of 3.35 M priorities moved by 0.0001).
    encode = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=True),
                list(range(n_cat)),
            ),
            ("numbers", StandardScaler(), list(range(n_cat, n_cat + len(NUMERIC)))),
        ],
        sparse_threshold=1.0,  # always sparse, whatever the share of ones
    )
    # A regularised logistic regression over one-hot codes and the category×payer cross: payers
    # differ by denial type (one overturns authorization denials, another never does), and a few
    # hundred outcomes support that many coefficients but not a deep tree ensemble. Sigmoid
    # calibration on internal folds corrects the shrinkage the regularisation puts on probabilities.
    model = LogisticRegression(C=0.5, max_iter=2000)
    return CalibratedClassifierCV(Pipeline([("encode", encode), ("model", model)]), method="sigmoid", cv=3)


MISSING = "\x00missing"  # a category of its own, as sklearn treats a missing string


def _categories(features: pl.DataFrame) -> pl.DataFrame:
    return features.select(
        *CATEGORICAL, cross=pl.concat_str(pl.col("category"), pl.lit("|"), pl.col("payer"))
    ).with_columns(pl.all().fill_null(MISSING))


def _vocabulary(rows: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Each categorical feature's values, numbered in sorted order. The encoder sees the numbers:
    sklearn encodes strings one value at a time in Python (3 s of routing at a million claims),
    numbers with numpy; the one-hot columns are the same, in the same order."""
    return {
        column: {value: code for code, value in enumerate(values.unique().sort().to_list())}
        for column, values in _categories(rows).to_dict().items()
    }


def _matrix(features: pl.DataFrame, vocabulary: dict[str, dict[str, int]]) -> np.ndarray:
    # A value the vocabulary lacks is -1, which no fitted encoder has seen: unknown, as before.
    cats = _categories(features).select(
        pl.col(column).replace_strict(codes, default=-1, return_dtype=pl.Int64)
        for column, codes in vocabulary.items()
    ).to_numpy().astype(float)
    nums = features.select(NUMERIC).fill_null(0).to_numpy().astype(float)
    return np.concatenate([cats, nums], axis=1)


@dataclass
class OverturnModel:
    """A fitted P(overturn) source: the calibrated classifier when it earned it, else the priors."""

    report: ModelReport
    priors: PriorTable
    estimator: object | None = None
    # Features that never varied in the history (e.g. no remark codes in the adjudications table):
    # pinned to their training value when scoring, so a value never seen cannot shift the score.
    pinned: dict[str, object] = field(default_factory=dict)
    carc_categories: bool = False  # history categorised from the primary CARC alone: score alike
    vocabulary: dict[str, dict[str, int]] = field(default_factory=dict)  # the estimator's category codes

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        if features.height == 0:
            return np.zeros(0)
        if self.carc_categories:
            features = features.with_columns(category=carc_category(features["primary_carc"]))
        if self.pinned:
            features = features.with_columns([pl.lit(v, dtype=features.schema[c]).alias(c) for c, v in self.pinned.items()])
        if self.estimator is None:
            return self.priors.predict(features)
        with threadpool_limits(1):
            return self.estimator.predict_proba(_matrix(features, self.vocabulary))[:, 1]


class KeptModels(Protocol):
    """Where a fitted model is kept between runs, by the fingerprint of what it learned from."""

    def load(self, fingerprint: str) -> OverturnModel | None: ...

    def save(self, fingerprint: str, model: OverturnModel) -> None: ...


# Bumped when the fit, its features or the model's shape change: a model kept by older code is
# never reused, even from the same training rows.
MODEL_VERSION = "2"  # 2: the one-hot codes sparse


def fit_overturn_model(history: pl.DataFrame, level1: pl.DataFrame, priors: OverturnPriors,
                       kept: KeptModels | None = None) -> OverturnModel:
    """Learn P(overturn) from decided Level I outcomes, or fall back to the priors and say why.

    `history`: past denials (DENIALS columns), or the adjudications table (`is_denied`,
    `primary_reason`, ...), from which every claim's first denial is taken (see `history`).
    `level1`: Level I requests with `outcome` and `submitted_on`. `kept`: models of earlier runs;
    the fit is deterministic, so when its training rows (features, outcome, filing date, in order),
    the priors and the code are what a kept model learned from, that model is the fit and is reused.
    """
    from_adjudications = is_adjudications(history)
    if from_adjudications:
        history = denial_history(history)
    rows = training_rows(history, level1).sort("submitted_on", maintain_order=True)
    fingerprint = training_fingerprint(rows, priors, from_adjudications)
    if kept is not None and (model := kept.load(fingerprint)) is not None:
        return model
    # One BLAS thread: the problem is small, and on a shared machine multi-threaded BLAS in the
    # solver's many tiny products oversubscribes the cores (measured 50x slower under load).
    with threadpool_limits(1):
        model = _fit(rows, priors)
    model.carc_categories = from_adjudications
    if from_adjudications:
        model.report.history_source = "adjudications"
    if kept is not None:
        kept.save(fingerprint, model)
    return model


def training_fingerprint(rows: pl.DataFrame, priors: OverturnPriors, from_adjudications: bool) -> str:
    """What a fit depends on, as one digest: every training row's values in order (a reordering
    counts as a change: the calibration folds follow the order), the priors, the kind of history,
    the code's, Polars' and scikit-learn's versions (the row hash and the fit may change with them)."""
    import sklearn

    digest = hashlib.sha256()
    digest.update(repr((MODEL_VERSION, pl.__version__, sklearn.__version__, from_adjudications, rows.height, rows.schema,
                        sorted(priors.categories.items()), priors.default, priors.pseudo_count)).encode())
    digest.update(rows.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()


def _fit(rows: pl.DataFrame, priors: OverturnPriors) -> OverturnModel:
    n = rows.height
    rate = float(rows["overturned"].mean()) if n else None
    if n < MIN_DECIDED or rows["overturned"].n_unique() < 2:
        why = (
            f"only {n} decided Level I outcomes matched to denials (need {MIN_DECIDED})"
            if n < MIN_DECIDED
            else "every decided Level I has the same outcome, nothing to learn"
        )
        return OverturnModel(
            ModelReport(used="priors", reason=f"{why}: using category priors", n_decided=n, overturn_rate=rate),
            PriorTable(priors, rows),
        )
    cut = int(math.floor(n * (1 - TEST_SHARE)))
    train, test = rows[:cut], rows[cut:]
    report = ModelReport(
        used="priors", reason="", n_train=train.height, n_test=test.height, n_decided=n,
        overturn_rate=rate, test_from=test["submitted_on"].min(),
    )
    if train["overturned"].n_unique() < 2 or test["overturned"].n_unique() < 2:
        report.reason = "the older or the newer slice has a single outcome, so no fair comparison: using category priors"
        return OverturnModel(report, PriorTable(priors, rows))

    from sklearn.metrics import brier_score_loss, roc_auc_score

    y_train = train["overturned"].to_numpy().astype(int)
    y_test = test["overturned"].to_numpy().astype(int)
    baseline = PriorTable(priors, train).predict(test)
    vocabulary = _vocabulary(rows)
    estimator = _estimator().fit(_matrix(train, vocabulary), y_train)
    predicted = estimator.predict_proba(_matrix(test, vocabulary))[:, 1]

    report.auc_model = float(roc_auc_score(y_test, predicted))
    report.auc_baseline = float(roc_auc_score(y_test, baseline))
    report.brier_model = float(brier_score_loss(y_test, predicted))
    report.brier_baseline = float(brier_score_loss(y_test, baseline))
    report.auc_lift_ci_low = _auc_lift_lower_bound(y_test, predicted, baseline)

    better_brier = report.brier_model < report.brier_baseline
    real_lift = report.auc_lift_ci_low > 0
    if better_brier and real_lift:
        report.used = "model"
        report.reason = (
            f"model beats the category baseline on the newest {test.height} filings "
            f"(AUC {report.auc_model:.3f} vs {report.auc_baseline:.3f}, "
            f"Brier {report.brier_model:.3f} vs {report.brier_baseline:.3f}); refitted on all {n}"
        )
        # Refit on every decided outcome: the newest filings carry the most current payer behaviour.
        pinned = {c: rows[c][0] for c in (*CATEGORICAL, *NUMERIC) if rows[c].n_unique() == 1}
        final = _estimator().fit(_matrix(rows, vocabulary), rows["overturned"].to_numpy().astype(int))
        return OverturnModel(report, PriorTable(priors, rows), final, pinned, vocabulary=vocabulary)
    report.reason = (
        "model shows no reliable lift over the category baseline on the newest filings "
        f"(AUC {report.auc_model:.3f} vs {report.auc_baseline:.3f}, lift 90% low {report.auc_lift_ci_low:+.3f}; "
        f"Brier {report.brier_model:.3f} vs {report.brier_baseline:.3f}): using category priors"
    )
    return OverturnModel(report, PriorTable(priors, rows))


def _auc_lift_lower_bound(y: np.ndarray, model: np.ndarray, baseline: np.ndarray) -> float:
    """5th percentile of the paired bootstrap AUC lift of the model over max(baseline, chance)."""
    rng = np.random.default_rng(RANDOM_STATE)
    idx = rng.integers(0, len(y), (BOOTSTRAP_ROUNDS, len(y)))
    labels = y[idx].astype(bool)
    usable = labels.any(axis=1) & ~labels.all(axis=1)
    if not usable.any():
        return float("-inf")
    labels, idx = labels[usable], idx[usable]
    # Against the better of the baseline and chance: a baseline that ranks worse than a coin
    # (possible on noise) must not make a coin-flip model look like a win.
    reference = np.maximum(_auc_rows(labels, baseline[idx]), 0.5)
    return float(np.quantile(_auc_rows(labels, model[idx]) - reference, 0.05))


def _auc_rows(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row (Mann-Whitney U with tie-averaged ranks), vectorised over bootstrap rounds."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    positives = labels.sum(axis=1)
    negatives = labels.shape[1] - positives
    rank_sum = np.where(labels, ranks, 0).sum(axis=1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
