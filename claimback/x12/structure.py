"""Envelope context, transaction-set boundaries, structural rejection and content hashes.

Every segment learns which interchange, functional group and transaction set it belongs to
from cumulative counts and forward-filled markers, so no loop walks the segments; envelope
values (ISA13, GS06, GS08, ...) are then joined per transaction set. A transaction set is
rejected as a unit (quarantined) when it is structurally broken: no SE (truncated), segment
ids that are not X12 ids, or a transaction type this reader does not load. Envelope counts
and control numbers that disagree are reported as findings, never rejected, because real
senders get them wrong all the time.
"""
from __future__ import annotations

import hashlib

import polars as pl

from claimback.x12.fields import KEY_SPAN, el, file_of, running_count, with_elements, within_file

ENVELOPE_TAGS = ("ISA", "GS", "GE", "IEA", "TA1")
SUPPORTED_TYPES = ("835", "837", "999", "277")  # 277: the 277CA claim acknowledgment (x12/acks.py)
_TAG_PATTERN = r"^[A-Z][A-Z0-9]{1,2}$"


def per_file_count(seg: pl.DataFrame, is_counted: pl.Expr, before: int = 0) -> pl.Expr:
    """Running count of `is_counted` rows within each file, as a file-scoped key (KEY_SPAN)."""
    fid = file_of(pl.col("seg_index"))
    if seg.height and seg["seg_index"][-1] < KEY_SPAN:  # one file (the usual single read): no window needed
        return is_counted.cum_sum() + before
    return running_count(is_counted, fid) + before + fid * KEY_SPAN


def with_context(seg: pl.DataFrame, sets_before: int = 0) -> pl.DataFrame:
    """Add `txn`: the 1-based position of the row's transaction set (ST) in its file
    (`sets_before` ST segments precede this piece of a file read in several pieces) as a
    file-scoped key, 0 outside any transaction set; and `isa_seq` / `gs_seq`, the interchange
    and functional group the row sits in."""
    tag = pl.col("tag")
    fid = file_of(pl.col("seg_index"))
    after_se = tag.shift(1) == "SE"
    first_of_file = (fid != fid.shift(1)).fill_null(True)  # a set never continues into the next file
    txn = (
        pl.when(tag == "ST").then(per_file_count(seg, tag == "ST", sets_before))
        .when(tag.is_in(ENVELOPE_TAGS) | after_se | first_of_file).then(0)
        .otherwise(None)
        .forward_fill()
        .fill_null(0)
    )
    return seg.with_columns(txn=txn, isa_seq=per_file_count(seg, tag == "ISA"),
                            gs_seq=per_file_count(seg, tag == "GS"))


def transactions(ctx: pl.DataFrame) -> pl.DataFrame:
    """One row per transaction set with its header/trailer and envelope values and any
    structural error (null when the set can be loaded)."""
    return with_errors(transaction_info(ctx))


def transaction_info(ctx: pl.DataFrame) -> pl.LazyFrame:
    """Per transaction set: where it starts, its segment count, last segment id, segment ids that
    are not X12 ids, and the ST, SE, ISA and GS values it is read with (the compiled core's
    Scan.transactions gives the same columns)."""
    tag = pl.col("tag")
    frame = ctx.lazy()
    rows = frame.filter(pl.col("txn") > 0)
    invalid = ~tag.str.contains(_TAG_PATTERN)
    shape = rows.group_by("txn", maintain_order=True).agg(
        first_seg=pl.col("seg_index").first(),
        offset=pl.col("offset").first(),
        segments=pl.len(),
        last_tag=tag.last(),
        bad_tags=invalid.sum(),
        first_bad=pl.col("seg_index").filter(invalid).first(),
        isa_seq=pl.col("isa_seq").first(),
        gs_seq=pl.col("gs_seq").first(),
    )
    st = with_elements(rows.filter(tag == "ST"), "ST").select("txn", st01=el(1), st02=el(2), st03=el(3))
    se = with_elements(rows.filter(tag == "SE"), "SE").group_by("txn").agg(se01=el(1).last(), se02=el(2).last())
    isa = with_elements(frame.filter(tag == "ISA"), "ISA").select("isa_seq", isa13=el(13), isa06=el(6), isa08=el(8),
                                                                  isa09=el(9), isa10=el(10))
    gs = with_elements(frame.filter(tag == "GS"), "GS").select("gs_seq", gs02=el(2), gs03=el(3), gs04=el(4), gs05=el(5),
                                                               gs06=el(6), gs08=el(8))
    return (
        shape.join(st, on="txn", how="left").join(se, on="txn", how="left")
        .join(isa, on="isa_seq", how="left").join(gs, on="gs_seq", how="left")
    )


def with_errors(info: pl.LazyFrame) -> pl.DataFrame:
    """The transaction sets with their structural error (null when the set can be loaded) and location."""
    error = (
        pl.when(pl.col("last_tag") != "SE")
        .then(pl.lit("transaction set is truncated: no SE trailer before the next envelope segment or end of file"))
        .when(pl.col("bad_tags") > 0)
        .then(pl.format("transaction set contains {} segment(s) whose id is not a valid X12 segment id "
                        "(first at segment {})", pl.col("bad_tags"), within_file(pl.col("first_bad")) + 1))
        .when((pl.col("st01") == "277") & ~pl.concat_str(pl.col("st03").fill_null(""), pl.col("gs08").fill_null(""))
              .str.contains("X214"))
        .then(pl.format("unsupported transaction set type '277' version '{}': only the 277CA claim acknowledgment "
                        "(005010X214) is read, not claim status responses", pl.coalesce("st03", "gs08").fill_null("")))
        .when(~pl.col("st01").is_in(SUPPORTED_TYPES) | pl.col("st01").is_null())
        .then(pl.format("unsupported transaction set type '{}' (this reader loads 835, 837, 999 and 277CA)",
                        pl.col("st01").fill_null("")))
        .otherwise(None)
    )
    return info.with_columns(error=error, location=location_expr("st02", "first_seg", "offset")).sort("txn").collect()


def location_expr(st02: str, seg_index: str, offset: str) -> pl.Expr:
    """"ISA 000000001 / ST 0001, segment 14, byte 2310" (segments counted from 1 in the file)."""
    return pl.format(
        "ISA {} / ST {}, segment {}, byte {}",
        pl.col("isa13").fill_null("-"), pl.col(st02).fill_null("-"),
        within_file(pl.col(seg_index)) + 1, pl.col(offset),
    )


def locate(frame: pl.DataFrame, txns: pl.DataFrame) -> pl.DataFrame:
    """Add `location` to rows that carry `txn`, `seg_index` and `offset`."""
    where = txns.select("txn", _isa13="isa13", _st02="st02")
    return frame.join(where, on="txn", how="left").with_columns(location=_segment_location()).drop("_isa13", "_st02")


def _segment_location() -> pl.Expr:
    return pl.format("ISA {} / ST {}, segment {}, byte {}", pl.col("_isa13").fill_null("-"),
                     pl.col("_st02").fill_null("-"), within_file(pl.col("seg_index")) + 1, pl.col("offset"))


def locate_found(frame: pl.LazyFrame, txns: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Findings with their `location`: rows about a claim or a line name its `seg_index` and `offset`
    (findings.WHERE) and are located here, once found, instead of every claim and line read being
    given a location string it rarely needs; rows that carry a `location` (about a set) keep it."""
    names = frame.collect_schema().names()
    if "seg_index" not in names:
        return frame
    where = txns.lazy().select("txn", _isa13="isa13", _st02="st02")
    located = _segment_location()
    if "location" in names:
        located = pl.coalesce("location", located)
    return frame.join(where, on="txn", how="left").with_columns(location=located).drop(
        "_isa13", "_st02", "seg_index", "offset", strict=False)


def transaction_hashes(ctx: pl.DataFrame) -> pl.DataFrame:
    """sha256 (first 32 hex) of each transaction set's content without ST/SE and envelope.

    Segments are re-joined with canonical delimiters (* : ^ ~) so the same remit
    re-delivered with other delimiters, line breaks or control numbers hashes the same.
    """
    body = ctx.select("txn", "tag", "segment", "elem", "comp", "rep").filter(
        (pl.col("txn") > 0) & ~pl.col("tag").is_in(("ST", "SE")))
    canon = _canonical_segments(body)
    # One join of the whole body, then a slice per transaction set: the sets' segments are
    # contiguous and in order, so each set's content is a substring of the joined text.
    ends = (canon.str.len_chars() + 1).cum_sum()
    text = canon.str.join("~").item() if body.height else ""
    spans = pl.DataFrame({"txn": body["txn"], "width": canon.str.len_chars(), "end": ends}).group_by(
        "txn", maintain_order=True).agg(start=(pl.col("end") - pl.col("width") - 1).first(), end=pl.col("end").last() - 1)
    hashes = [hashlib.sha256(text[a:b].encode("utf-8")).hexdigest()[:32]
              for a, b in zip(spans["start"].to_list(), spans["end"].to_list())]
    out = pl.DataFrame({"txn": spans["txn"], "transaction_hash": hashes},
                       schema={"txn": pl.Int64, "transaction_hash": pl.String})
    empty = hashlib.sha256(b"").hexdigest()[:32]
    every = ctx.filter(pl.col("tag") == "ST").select(pl.col("txn").unique())
    return every.join(out, on="txn", how="left").with_columns(pl.col("transaction_hash").fill_null(empty))


def _canonical_segments(body: pl.DataFrame) -> pl.Series:
    """Each segment's text with its separators replaced by the canonical * : ^.

    Separators are per run (element) or per interchange; only rows whose separators differ
    from the canonical ones AND that contain them are rewritten (usually the few segments
    with a composite), because rewriting every row was a visible share of a large file.
    """
    canon = body["segment"]
    swaps = [(column, sep, canonical) for column, canonical in (("elem", "*"), ("comp", ":"), ("rep", "^"))
             for sep in body[column].unique().to_list() if sep and sep != canonical]
    if not swaps:
        return canon
    touched = pl.any_horizontal([(pl.col(c) == sep) & pl.col("segment").str.contains(sep, literal=True)
                                 for c, sep, _ in swaps])
    rows = body.with_row_index("_row").filter(touched)
    # all of a row's separators at once: one after the other, a file of '|' elements and '*'
    # composites would write both as ':' (the element's '*' read again as a composite)
    text = pl.col("segment")
    for elem, comp, rep in rows.select("elem", "comp", "rep").unique().iter_rows():
        pairs = [(sep, canonical) for sep, canonical in ((elem, "*"), (comp, ":"), (rep, "^")) if sep and sep != canonical]
        if pairs:
            these = pl.all_horizontal(pl.col(c).eq_missing(v) for c, v in (("elem", elem), ("comp", comp), ("rep", rep)))
            text = pl.when(these).then(pl.col("segment").str.replace_many(
                [sep for sep, _ in pairs], [canonical for _, canonical in pairs])).otherwise(text)
    return canon.scatter(rows["_row"], rows.select(text)["segment"])


def envelope_findings(ctx: pl.DataFrame, txns: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """SE01/GE01/IEA01 counts and ST/SE, GS/GE, ISA/IEA control numbers that disagree.

    Returns (findings about transaction sets, findings about groups and interchanges); only
    the first kind has a transaction set (`txn`) to name, the second names its `file_id`.
    """
    tag = pl.col("tag")
    frame = ctx.lazy()
    se = txns.lazy().filter(pl.col("last_tag") == "SE")
    st_findings = pl.concat([
        se.filter(pl.col("se01") != pl.col("segments").cast(pl.String)).select(
            "txn", "location", rule=pl.lit("se_count"), severity=pl.lit("warning"),
            message=pl.format("SE01 says {} segments but the transaction set has {}", pl.col("se01"),
                              pl.col("segments"))),
        se.filter(pl.col("se02") != pl.col("st02")).select(
            "txn", "location", rule=pl.lit("control_number"), severity=pl.lit("warning"),
            message=pl.format("SE02 {} does not match ST02 {}", pl.col("se02"), pl.col("st02"))),
    ])
    sts_per_group = frame.filter(tag == "ST").group_by("gs_seq").agg(n_st=pl.len())
    gs_per_isa = frame.filter(tag == "GS").group_by("isa_seq").agg(n_gs=pl.len())
    where = pl.format("ISA {}, segment {}, byte {}", pl.col("isa13").fill_null("-"),
                      within_file(pl.col("seg_index")) + 1, pl.col("offset"))
    isa = with_elements(frame.filter(tag == "ISA"), "ISA").select("isa_seq", isa13=el(13))
    gs = with_elements(frame.filter(tag == "GS"), "GS").select("gs_seq", gs06=el(6))
    ge = with_elements(frame.filter(tag == "GE"), "GE").join(sts_per_group, on="gs_seq", how="left").join(gs, on="gs_seq", how="left") \
        .join(isa, on="isa_seq", how="left").with_columns(pl.col("n_st").fill_null(0), ge01=el(1), ge02=el(2))
    iea = with_elements(frame.filter(tag == "IEA"), "IEA").join(gs_per_isa, on="isa_seq", how="left").join(isa, on="isa_seq", how="left") \
        .with_columns(pl.col("n_gs").fill_null(0), iea01=el(1), iea02=el(2))
    stray = frame.filter((pl.col("txn") == 0) & ~tag.is_in(ENVELOPE_TAGS) & (tag != "SE")) \
        .join(isa, on="isa_seq", how="left")
    env = pl.concat([
        ge.filter(pl.col("ge01").cast(pl.Int64, strict=False) != pl.col("n_st")).select(
            "seg_index", location=where, rule=pl.lit("ge_count"), severity=pl.lit("warning"),
            message=pl.format("GE01 says {} transaction sets but the group has {}", pl.col("ge01"), pl.col("n_st"))),
        ge.filter(pl.col("ge02").str.strip_chars("0") != pl.col("gs06").str.strip_chars("0")).select(
            "seg_index", location=where, rule=pl.lit("control_number"), severity=pl.lit("warning"),
            message=pl.format("GE02 {} does not match GS06 {}", pl.col("ge02"), pl.col("gs06"))),
        iea.filter(pl.col("iea01").cast(pl.Int64, strict=False) != pl.col("n_gs")).select(
            "seg_index", location=where, rule=pl.lit("iea_count"), severity=pl.lit("warning"),
            message=pl.format("IEA01 says {} functional groups but the interchange has {}", pl.col("iea01"),
                              pl.col("n_gs"))),
        iea.filter(pl.col("iea02").str.strip_chars("0") != pl.col("isa13").str.strip_chars("0")).select(
            "seg_index", location=where, rule=pl.lit("control_number"), severity=pl.lit("warning"),
            message=pl.format("IEA02 {} does not match ISA13 {}", pl.col("iea02"), pl.col("isa13"))),
        stray.group_by(file_of(pl.col("seg_index")).alias("file_id"), maintain_order=True).agg(
            pl.col("seg_index").first(), location=where.first(), n=pl.len()).select(
            "seg_index", "location", rule=pl.lit("segment_outside_transaction"), severity=pl.lit("warning"),
            message=pl.format("{} segment(s) outside any ST..SE transaction set were ignored", pl.col("n"))),
    ])
    st_found, env_found = pl.collect_all([st_findings.sort("txn", "rule", maintain_order=True),
                                          env.sort("seg_index", maintain_order=True)
                                          .select(pl.exclude("seg_index"), file_id=file_of(pl.col("seg_index")))])
    return st_found, env_found
