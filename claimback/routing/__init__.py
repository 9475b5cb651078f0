"""Routing: what to do with every denial, by when, and in what order.

Public API:
    load_rules(path=None) -> PayerRules           payer filing windows (payer_rules.yaml / --payer-rules)
    PayerRules.for_payer(payer_id, payer_name) -> PayerRule
    build_work_queue(denials, reconsiderations, trend_members, rules, as_of, resolved=None,
                     history_model=None, history=None, submitted_claims=None)
        -> (work_queue frame, ModelReport)
    fit_overturn_model(denial_history, level1_log, priors) -> OverturnModel
"""
from claimback.routing.overturn import ModelReport, OverturnModel, fit_overturn_model
from claimback.routing.queue import build_work_queue
from claimback.routing.routes import RULE_LEVEL
from claimback.routing.rules import (
    ANCHORS,
    LEVELS,
    PACKAGED_RULES,
    LevelRule,
    OverturnPriors,
    PayerRule,
    PayerRules,
    PayerRulesError,
    load_rules,
)

__all__ = [
    "ANCHORS",
    "LEVELS",
    "PACKAGED_RULES",
    "RULE_LEVEL",
    "LevelRule",
    "ModelReport",
    "OverturnModel",
    "OverturnPriors",
    "PayerRule",
    "PayerRules",
    "PayerRulesError",
    "build_work_queue",
    "fit_overturn_model",
    "load_rules",
]
