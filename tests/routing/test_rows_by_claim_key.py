"""Reads by claim key open only the parts of the batches that read the keys' files
(`ingest.batches_of_keys`, `ingest.rows_by_claim_key`): a hand-written inbox of three 837/835 pairs,
one pair per ingest batch; the rows read are those a read of every part finds."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from claimback import ingest, stages
from claimback.inbox import scan
from claimback.x12.fields import key_prefix

from .x12_inbox import Claim837, Remit, claims_837, remit_835, write

PAYER = ("SUNFLOWER HEALTH PLAN", "SUNFL")
COLUMNS = ("claim_key", "patient_control_number", "payer_id")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows_by_claim_key")
    inbox = root / "inbox"
    for n, month in enumerate(("11", "12", "01"), start=1):
        year = "2026" if month == "01" else "2025"
        visits = [Claim837(f"P{n}{i}", f"M{n}{i}", f"{year}{month}0{i + 1}", "97110") for i in range(3)]
        write(inbox, f"{n}.837", claims_837(*PAYER, visits, f"{year}{month}10", f"00000{n}001"))
        write(inbox, f"{n}.835", remit_835(*PAYER, [
            Remit(c.pcn, f"{c.pcn}-ICN", c.member, c.service_date, "97110", paid="150") for c in visits],
            f"{year}{month}25", f"00000{n}002"))
    settings = stages.Settings(inbox=inbox, warehouse=root / "warehouse", as_of=dt.date(2026, 2, 1))
    plan = ingest.plan(scan(inbox), settings.lake)
    for batch in plan.batches(max_files=2):  # one 837/835 pair per batch: three batches
        ingest.ingest_batch(batch, settings.lake)
    ingest.consolidate(settings.lake)
    return settings.lake


def test_the_keys_name_the_batch_that_read_their_file(lake):
    files = ingest.registry(lake).select("source_file", "batch_id")
    assert files["batch_id"].n_unique() == 3
    second = files.filter(pl.col("source_file").str.ends_with("2.837"))["batch_id"].to_list()
    claims = lake.read("submitted_claims", COLUMNS)
    keys = claims.filter(pl.col("patient_control_number").str.starts_with("P2"))["claim_key"]
    assert keys.len() == 3
    assert ingest.batches_of_keys(lake, keys) == second
    rows = ingest.rows_by_claim_key(lake, "submitted_claims", keys, COLUMNS, ordered=True)
    assert rows.equals(claims.filter(pl.col("claim_key").is_in(keys.implode())))
    assert ingest.rows_by_claim_key(lake, "submitted_claims", keys.head(0), COLUMNS).height == 0


def test_a_key_of_no_registered_file_reads_every_part(lake):
    claims = lake.read("submitted_claims", COLUMNS)
    keys = pl.concat([claims["claim_key"].head(1), pl.Series(["ffffffffffffffff-0000001"])])
    assert ingest.batches_of_keys(lake, keys) is None
    rows = ingest.rows_by_claim_key(lake, "submitted_claims", keys, COLUMNS, ordered=True)
    assert rows.equals(claims.head(1))


def test_a_claim_key_begins_with_as_much_of_its_files_hash_as_the_lookup_takes():
    sha = "0123456789abcdef" * 4
    assert key_prefix(sha) == sha[:ingest.KEY_FILE_CHARS] + "-"


def test_only_the_readers_tables_are_read_by_their_files_batches(lake):
    with pytest.raises(ValueError, match="do not name the files"):
        ingest.rows_by_claim_key(lake, "denials", pl.Series(["x"]), ("claim_key",))
