"""A read by claim key through the copy kept from the last run (ingest.rows_by_claim_key_kept): the
rows a read of the lake gives, the kept keys' rows taken from the copy, and the copy dropped as soon
as a batch it was read from is written again or gone."""
from __future__ import annotations

import polars as pl

from claimback import ingest
from claimback.lake import CONSOLIDATED, Lake

COLUMNS = ("claim_key", "place_of_service", "procedure_code")
LINES = [("K1", "11", "99213"), ("K1", "11", "85025"), ("K2", "22", "99214"), ("K3", "11", "99215"),
         ("K4", "02", "97110")]


def _lake(tmp_path) -> Lake:
    lake = Lake(tmp_path)
    lines = pl.DataFrame(LINES, schema=list(COLUMNS), orient="row")
    lake.write_current_part("submitted_service_lines", "b1", lines.head(3))
    lake.write_current_part("submitted_service_lines", "b2", lines.tail(2))
    _batches(lake, {"b1": 1, "b2": 1})
    return lake


def _batches(lake: Lake, fingerprints: dict[str, int]) -> None:
    lake.write_state(CONSOLIDATED, pl.DataFrame({"batch": list(fingerprints), "fingerprint": list(fingerprints.values())}))


def _read(lake: Lake, *keys: str, forget: bool = False) -> list[tuple]:
    rows = ingest.rows_by_claim_key_kept(lake, "submitted_service_lines", pl.Series(keys, dtype=pl.String),
                                         COLUMNS, kept="window", forget=forget)
    return sorted(rows.iter_rows())


def _of_lake(lake: Lake, *keys: str) -> list[tuple]:
    return sorted(ingest.rows_by_claim_key(lake, "submitted_service_lines", pl.Series(keys), COLUMNS).iter_rows())


def test_the_rows_of_a_read_of_the_lake_night_after_night(tmp_path):
    lake = _lake(tmp_path)
    assert _read(lake, "K1", "K2", None) == _of_lake(lake, "K1", "K2") == sorted(LINES[:3])
    # the window slides: K1 leaves, K3 and a key without rows come
    assert _read(lake, "K2", "K3", "K9") == _of_lake(lake, "K2", "K3") == sorted(LINES[2:4])
    assert _read(lake) == []
    assert _read(lake, "K4", "K1") == _of_lake(lake, "K1", "K4")


def test_the_kept_keys_come_from_the_copy_until_their_batch_is_written_again(tmp_path):
    lake = _lake(tmp_path)
    _read(lake, "K1", "K2", "K4")
    # b1's part changes under the copy (as a rewritten batch would) while the state says it stands
    lake.write_current_part("submitted_service_lines", "b1",
                            pl.DataFrame([("K2", "22", "99214")], schema=list(COLUMNS), orient="row"))
    assert _read(lake, "K1", "K2") == sorted(LINES[:3])  # from the copy: the part was not read
    assert _read(lake, "K1", "K2", forget=True) == [("K2", "22", "99214")]  # a run from scratch reads the lake
    _read(lake, "K1", "K2")
    _batches(lake, {"b1": 2, "b2": 1})  # b1 written again: the copy is not used
    assert _read(lake, "K1", "K2") == [("K2", "22", "99214")]
    _batches(lake, {"b2": 1})  # b1 gone
    lake.write_current_part("submitted_service_lines", "b1", pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String)))
    assert _read(lake, "K1", "K2", "K4") == [LINES[4]]


def test_a_run_stopped_while_the_copy_was_written_leaves_none(tmp_path):
    lake = _lake(tmp_path)
    _read(lake, "K1")
    lake.state_path("window_batches").unlink()  # removed first, written last
    lake.write_current_part("submitted_service_lines", "b1", pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String)))
    assert _read(lake, "K1") == []
