"""All 183 real sample files as one inbox: no claim mixes two members or two practices.

The public samples (../shared/x12-samples) were written by many payers and vendors with no
thought for each other: template PCNs (eMedNY: three CLPs, three members, one PCN), masked
identifiers, reused claim numbers. Run together they are the harshest test of claim identity.
"""
from __future__ import annotations

import shutil

import polars as pl
import pytest

from claimback import lifecycle
from tests.conftest import corpus_files, needs_corpus
from tests.facts.helpers import AS_OF

pytestmark = [pytest.mark.slow, needs_corpus]


def _one_inbox(root):
    inbox = root / "inbox"
    inbox.mkdir()
    files = corpus_files("835") + corpus_files("837")
    for path in files:
        shutil.copyfile(path, inbox / f"{path.parent.name}_{path.name}")
    return inbox, len(files)


def test_no_claim_of_the_corpus_mixes_members_or_practices(tmp_path):
    from tests.facts.helpers import published_tables
    from pipelines.cli import run_pipeline

    inbox, count = _one_inbox(tmp_path)
    assert count == 183
    assert run_pipeline(inbox, tmp_path / "warehouse", AS_OF).success
    tables = published_tables(tmp_path / "warehouse")
    claims = tables["adjudications"].join(
        tables["remit_claims"].select("claim_key", "member_id", "payee_npi", "payee_tax_id"), on="claim_key")
    assert claims.height == tables["adjudications"].height > 500
    per_claim = claims.with_columns(
        member=pl.col("member_id").str.to_uppercase().str.replace_all(r"[\s\-]+", ""),
        practice=lifecycle.provider_key("payee_npi", "payee_tax_id"),
    ).group_by("claim_id").agg(
        members=pl.col("member").drop_nulls().n_unique(),
        practices=pl.col("practice").drop_nulls().n_unique(),
        adjudications=pl.len(),
    )
    mixed = per_claim.filter((pl.col("members") > 1) | (pl.col("practices") > 1))
    assert mixed.height == 0, mixed.head(5)
    # the corpus does hold claims of several adjudications, so the check above can fail
    assert per_claim.filter(pl.col("adjudications") > 1).height > 0

    # nor does a denial borrow another practice's or member's 837
    denials = tables["denials"].drop_nulls("submitted_claim_key")
    pairs = denials.select("claim_key", "submitted_claim_key").join(
        tables["remit_claims"].select("claim_key", "member_id", "insured_member_id", "payee_npi"), on="claim_key"
    ).join(
        tables["submitted_claims"].select(submitted_claim_key="claim_key", s_member="subscriber_member_id",
                                          s_npi="billing_npi"), on="submitted_claim_key")
    wrong = pairs.filter(
        (pl.col("payee_npi").is_not_null() & pl.col("s_npi").is_not_null() & (pl.col("payee_npi") != pl.col("s_npi")))
        | (pl.col("s_member").is_not_null() & pl.col("member_id").is_not_null()
           & (pl.col("s_member") != pl.col("member_id"))
           & (pl.col("s_member") != pl.col("insured_member_id")).fill_null(True))
    )
    assert wrong.height == 0, wrong.head(5)
