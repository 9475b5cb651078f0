"""The lake and the inbox on S3-compatible object storage (a local moto server): the same code path
as a local folder, the commit protocol of docs/deployment.md (no rename: every object written
straight to its final key, the batch's registry object last), and a whole run whose published
tables equal a run on local folders."""
from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest

from claimback import ingest, schema, storage
from claimback.inbox import scan
from claimback.lake import Lake
from tests.object_store import bucket, keys, s3_endpoint, upload_folder  # noqa: F401  (fixtures)
from tests.compare_published import compare_published
from tests.reliability.harness import AS_OF, step_failures, synth_inbox


def _claims(*keys_: str) -> pl.DataFrame:
    return schema.conform(pl.DataFrame({"claim_key": list(keys_), "source_file": [f"{k}.835" for k in keys_]}),
                          "remit_claims")


def test_a_lake_on_s3_reads_and_writes_like_a_folder(tmp_path, bucket):
    lake = Lake(tmp_path / "warehouse", f"s3://{bucket}/claimback/lake")
    assert storage.is_remote(lake.root)
    lake.write_current_part("remit_claims", "b2", _claims("k3"))
    lake.write_current_part("remit_claims", "b1", _claims("k1", "k2"))
    lake.write_derived("denials", schema.empty("denials"))
    lake.write_state("seen", pl.DataFrame({"n": [7]}))

    assert lake.read("remit_claims")["claim_key"].to_list() == ["k1", "k2", "k3"]  # parts in batch order
    assert lake.read("remit_claims", ["claim_key"]).columns == ["claim_key"]
    assert lake.scan("remit_claims").select(pl.len()).collect().item() == 3
    assert lake.read("denials").height == 0 and lake.read_state("seen")["n"].to_list() == [7]
    assert set(lake.tables()) == {"remit_claims", "denials"}  # state is never published
    assert lake.read("work_queue").columns == list(schema.TABLES["work_queue"])  # not built yet: empty contract table
    # Straight to the final keys: no temporary object, and nothing of the lake on the local disk.
    assert keys(bucket) == [
        "claimback/lake/current/remit_claims/b1.parquet", "claimback/lake/current/remit_claims/b2.parquet",
        "claimback/lake/derived/denials.parquet", "claimback/lake/state/seen.parquet"]
    assert not (tmp_path / "warehouse" / "lake").exists()


def test_an_inbox_on_s3_lists_every_object_but_hidden_ones(tmp_path, bucket):
    folder = tmp_path / "inbox"
    (folder / "payer-a").mkdir(parents=True)
    (folder / "payer-a" / "era-1.835").write_bytes(b"ISA*00*...~")
    (folder / "claims.837").write_bytes(b"ISA*00*~\n")
    (folder / ".partial.835").write_bytes(b"half")  # hidden: an upload tool's temporary name
    upload_folder(folder, bucket, "drop")

    found = scan(f"s3://{bucket}/drop")
    assert [(f.name, f.size) for f in found] == [("claims.837", 9), ("payer-a/era-1.835", 11)]
    # The plan's shortcut (no rehash when name, size and time match) needs the listing's time to be
    # what stat() says later, when the batch checks the file did not change under it.
    assert all(f.mtime_ns == f.path.stat().st_mtime_ns > 0 for f in found)
    assert ingest.plan(found, Lake(tmp_path / "w")).new[1].sha256 == __import__("hashlib").sha256(
        b"ISA*00*...~").hexdigest()


def test_a_batch_killed_before_its_registry_object_counts_for_nothing(tmp_path, bucket, monkeypatch):
    inbox = synth_inbox(tmp_path / "synth", 20, claims_per_file=10)
    upload_folder(inbox.path, bucket, "inbox")
    lake = Lake(tmp_path / "warehouse", f"s3://{bucket}/lake")
    plan = ingest.plan(scan(f"s3://{bucket}/inbox"), lake)
    batch = plan.batches()[0]

    def killed(table, batch_id, frame):  # the worker dies just before the commit object
        if table == ingest.REGISTRY:
            raise KeyboardInterrupt
        return Lake.write_raw(lake, table, batch_id, frame)

    monkeypatch.setattr(lake, "write_raw", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest.ingest_batch(batch, lake)
    monkeypatch.undo()
    assert keys(bucket, "lake/raw/remit_claims/")  # the batch's tables were written ...
    assert not keys(bucket, "lake/raw/ingested_files/")  # ... but not its registry object
    assert ingest.plan(scan(f"s3://{bucket}/inbox"), lake).known == 0  # so no file counts as read

    ingest.consolidate(lake)  # removes the uncommitted objects
    assert not keys(bucket, "lake/raw/remit_claims/")
    ingest.ingest_batch(batch, lake, loaded_at=datetime(2026, 11, 1, tzinfo=timezone.utc))
    counts = ingest.consolidate(lake)
    assert counts["remit_claims"] > 0 and counts["ingested_files"] == len(batch)
    assert not [k for k in keys(bucket) if k.endswith(".tmp")]


@pytest.mark.slow
def test_a_run_with_inbox_and_lake_on_s3_publishes_what_a_local_run_publishes(tmp_path, bucket):
    from pipelines.cli import run_pipeline

    inbox = synth_inbox(tmp_path / "synth", 60, claims_per_file=5)
    upload_folder(inbox.path, bucket, "inbox")
    local = run_pipeline(inbox.path, tmp_path / "local", AS_OF, batch_files=10)
    assert local.success, step_failures(local)

    remote = run_pipeline(f"s3://{bucket}/inbox", tmp_path / "remote", AS_OF, batch_files=10,
                          lake_location=f"s3://{bucket}/lake")
    assert remote.success, step_failures(remote)
    assert keys(bucket, "lake/raw/ingested_files/") and not (tmp_path / "remote" / "lake").exists()
    _assert_same_published(tmp_path / "remote", tmp_path / "local")

    # A second night with nothing new reads nothing again and publishes the same.
    again = run_pipeline(f"s3://{bucket}/inbox", tmp_path / "remote", AS_OF, batch_files=10,
                         lake_location=f"s3://{bucket}/lake")
    assert again.success, step_failures(again)
    _assert_same_published(tmp_path / "remote", tmp_path / "local")


def _assert_same_published(warehouse, expected) -> None:
    """Every published table and view row for row (bench/compare_published.py: clock times and
    file modification times left out; an object's is its upload time, in whole seconds)."""
    differences, compared = compare_published.compare(warehouse, expected)
    assert not differences, [(d.relation, d.problem, d.only_a[:1], d.only_b[:1]) for d in differences]
    assert compared["remit_claims"] > 0 and compared["work_queue"] > 0
