"""Polars expressions for reading X12 element values: positions, composites, money, dates.

Every helper returns an expression over the element columns (`e1`..`e23`, the segment id
being `tag`) that `with_elements` adds to the rows of one segment id, so field extraction
stays vectorised. Empty elements read as null, which is how X12 means "not sent".
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import polars as pl

from claimback.schema import MONEY


# Many files are read through one plan: every key that counts within a file (segment index,
# transaction set, claim) is stored as file_id * KEY_SPAN + the value within the file, so keys
# stay unique across the files of a batch and the file's own value is `key % KEY_SPAN`. For a
# file read alone file_id is 0 and the stored key IS the file's value.
KEY_SPAN = 1 << 40


def file_of(key: pl.Expr) -> pl.Expr:
    """Position of the row's file in the batch, from any file-scoped key."""
    return key // KEY_SPAN


def within_file(key: pl.Expr) -> pl.Expr:
    """The file's own value of a file-scoped key (segment index, transaction or claim ordinal)."""
    return key % KEY_SPAN


ELEMENTS = 23  # the highest element position any extractor reads (MIA23)

# The highest element each extractor reads, per segment id. Splitting a segment costs in
# proportion to the elements asked for, and most segments of a file are short (DTM, REF, AMT),
# so each segment id is split only as far as it is read; ids not listed get all ELEMENTS.
# tests/x12/test_elements.py reads the corpus with every id split fully and asserts the same
# tables, so a new extractor that reads further than this table says cannot go unnoticed.
ELEMENTS_READ = {
    # envelope
    "ISA": 16, "GS": 8, "ST": 3, "SE": 2, "GE": 2, "IEA": 2,
    # 835
    "BPR": 16, "TRN": 3, "DTM": 2, "N1": 4, "REF": 2, "CLP": 11, "NM1": 9, "AMT": 2, "SVC": 6, "CAS": 19,
    "LQ": 2, "MIA": 23, "MOA": 7, "PLB": 14,
    # 837
    "HL": 3, "SBR": 9, "DMG": 2, "CLM": 5, "DTP": 3, "HI": 12, "SV1": 6, "SV2": 5, "SV3": 6, "LX": 1,
}


def with_elements(rows: pl.DataFrame | pl.LazyFrame, tag: str | None = None,
                  padded: bool | None = None) -> pl.DataFrame | pl.LazyFrame:
    """Add e1..eN to rows of segment id `tag`, N being what `tag` is read for (all ELEMENTS
    when None), split on each row's element separator (`elem`), spaces stripped and empty
    values null. Reading past N fails loudly (no such column) rather than reading null.
    Cleaning each element once here, rather than wherever it is read, matters because a
    qualifier like NM101 is read by every lookup of its segment."""
    n = ELEMENTS_READ.get(tag, ELEMENTS) if tag else ELEMENTS
    # stripping costs as much as splitting; most segment ids of a file never carry a space
    if padded is None:  # whether any segment carries a space; assumed for a lazy frame
        padded = isinstance(rows, pl.LazyFrame) or bool(rows["segment"].str.contains(" ", literal=True).any())
    split, elements = _element_exprs(n, padded)
    return rows.with_columns(split).with_columns(elements).drop("_split")


@cache  # built once per shape: a batch splits a dozen segment ids, each piece of a file again
def _element_exprs(n: int, padded: bool) -> tuple[pl.Expr, list[pl.Expr]]:
    def clean(e: pl.Expr) -> pl.Expr:
        return blank_to_null(e.str.strip_chars(" ") if padded else e)

    if n >= 6:  # a list split then indexed is cheaper than split_exact for many elements (measured)
        split = pl.col("segment").str.split(pl.col("elem")).alias("_split")
        return split, [clean(pl.col("_split").list.get(i, null_on_oob=True)).alias(f"e{i}") for i in range(1, n + 1)]
    split = pl.col("segment").str.split_exact(pl.col("elem"), n).alias("_split")
    return split, [clean(pl.col("_split").struct.field(f"field_{i}")).alias(f"e{i}") for i in range(1, n + 1)]


def running_count(counted: pl.Expr, group: pl.Expr) -> pl.Expr:
    """Running count of `counted` rows that restarts wherever `group` changes value.

    The same as counted.cum_sum().over(group) when each group's rows are contiguous (files in
    a batch, claims in a file), without the window's cost, which grows with the number of
    groups. Rows of a null group count from the start of their own stretch.
    """
    total = counted.cast(pl.Int64).cum_sum()
    starts = group.ne_missing(group.shift(1)) | (pl.int_range(pl.len()) == 0)
    return total - pl.when(starts).then(total - counted.cast(pl.Int64)).forward_fill()


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr == "").then(None).otherwise(expr)


@cache  # expressions are immutable; building them is a visible share of a small file's cost
def el(i: int) -> pl.Expr:
    """Element i of the segment (1-based as in 'CLP03'), spaces stripped, null when absent or
    empty (with_elements cleans the values)."""
    return pl.col(f"e{i}")


def components(expr: pl.Expr) -> pl.Expr:
    """A composite element split on its interchange's component separator (ISA16)."""
    return expr.str.split(pl.col("comp"))


def part(expr: pl.Expr, i: int) -> pl.Expr:
    """Component i (0-based) of a composite element."""
    return blank_to_null(components(expr).list.get(i, null_on_oob=True))


def modifiers(expr: pl.Expr) -> pl.Expr:
    """Procedure modifiers: components 3-6 of a procedure composite, blanks dropped."""
    return (
        components(expr).list.slice(2, 4).list.eval(pl.element().filter(pl.element() != ""))
        .fill_null(pl.lit([], pl.List(pl.String)))
    )


# Data element 782, monetary amount: type R as the 005010 implementation guides restrict it
# (Appendix B.1.1.3.1.2, X12 RFI 1526): an optional minus sign, digits, at most one decimal
# point; no plus sign, no triad separators ("1,250.00"), no currency sign, no exponent; at most
# ten digits counting the cents, so 99999999.99 is the largest amount. Leading zeros, which the
# guides say to suppress, are accepted: real payers send "000000000" for zero, and it is one.
AMOUNT_PATTERN = r"^-?0*(?:\d{1,8}(?:\.\d{0,2})?|\.\d{1,2})$"
AMOUNT_RULE = "an optional minus sign, digits and one decimal point, at most 99999999.99"


def money(expr: pl.Expr) -> pl.Expr:
    """A monetary amount, null when absent or not an amount (see amount_problem for the why)."""
    return pl.when(expr.str.contains(AMOUNT_PATTERN)).then(expr.cast(MONEY, strict=False))


def amount_problem(expr: pl.Expr, element: str | pl.Expr) -> pl.Expr:
    """What is wrong with the amount sent in `element` (e.g. "CLP03", or an expression naming it per
    row), null when it is fine or absent."""
    name = pl.lit(element) if isinstance(element, str) else element
    return pl.when(expr.is_not_null() & ~expr.str.contains(AMOUNT_PATTERN)).then(
        pl.format("{} '{}' is not an X12 amount ({})", name, expr.str.slice(0, 40), pl.lit(AMOUNT_RULE)))


def missing(expr: pl.Expr, element: str) -> pl.Expr:
    """A sentence when a required element is empty, else null."""
    return pl.when(expr.is_null()).then(pl.lit(f"{element} is empty"))


# Columns the table builders add to say what is wrong with a row (a sentence, null when nothing
# is): REJECT when the row's transaction set cannot be loaded (an amount the balances depend on,
# a key, the remit date), any column named FLAG + something when a value is left empty and
# reported as an error finding. Plain strings, not lists: they are computed for every row read.
REJECT, FLAG = "_reject", "_flag_"


def number(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64, strict=False)


def date8(expr: pl.Expr) -> pl.Expr:
    """CCYYMMDD (or the first date of an RD8 range 'CCYYMMDD-CCYYMMDD') as a date."""
    return expr.str.slice(0, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)


def date8_end(expr: pl.Expr) -> pl.Expr:
    """The last date of an RD8 range; the date itself for a plain D8 value."""
    return expr.str.split("-").list.last().str.slice(0, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)


def opened(opener: pl.Expr, closers: tuple[str, ...], value: pl.Expr) -> pl.Expr:
    """`value` of the latest opening row, carried forward until a closing segment id (then null)."""
    filled = pl.when(opener).then(value).when(pl.col("tag").is_in(closers)).then(0).otherwise(None).forward_fill()
    return pl.when(filled > 0).then(filled).otherwise(None)


class Segments:
    """The rows of a few segment ids, split once so each lookup scans only its own segment.

    Partitions are handed out as LazyFrames: the tables built from them form one query plan
    that is collected once (`pl.collect_all`), which matters for the many small files of a
    batch where per-operation overhead would otherwise dominate.
    """

    read: dict[str, pl.LazyFrame] = {}  # table rows read elsewhere (the compiled core's CoreSegments); none here
    converted: dict[str, int] = {}  # tables of `read` whose values were converted there too (remit._values)
    unbalanced: dict[str, int] = {}  # claims and lines found not to balance there, where counted

    def __init__(self, rows: pl.DataFrame, tags: tuple[str, ...]):
        self._empty = with_elements(rows.clear()).lazy()
        # partitioning everything is cheaper than filtering to the wanted ids first (measured)
        parts = {key[0]: frame for key, frame in rows.partition_by("tag", as_dict=True).items() if key[0] in tags}
        # every id split in one collect: a dozen small eager steps cost more than their work
        padded = dict(rows.filter(pl.col("tag").is_in(list(parts))).group_by("tag").agg(
            pl.col("segment").str.contains(" ", literal=True).any()).iter_rows())
        split = pl.collect_all([with_elements(frame.lazy(), tag, padded[tag]) for tag, frame in parts.items()])
        self._parts = {tag: frame.lazy() for tag, frame in zip(parts, split)}

    def __getitem__(self, tag: str) -> pl.LazyFrame:
        return self._parts.get(tag, self._empty)


def first_per(rows: pl.LazyFrame, key: str | list[str], where: pl.Expr, **values: pl.Expr) -> pl.LazyFrame:
    """The first row per `key` matching `where`, with the named value expressions.

    The workhorse for loop-scoped lookups: "the NM1*QC of each claim", "the REF*6R of each line".
    """
    keys = [key] if isinstance(key, str) else list(key)
    return (
        rows.filter(where & pl.all_horizontal([pl.col(k).is_not_null() for k in keys]))
        .select(*keys, **values)
        .unique(subset=keys, keep="first", maintain_order=True)
    )


def firsts(rows: pl.LazyFrame, key: str, **picks: tuple[pl.Expr, pl.Expr]) -> pl.LazyFrame:
    """Per `key`, each named value taken from the first row where its condition holds.

    picks: name=(condition, value), e.g. statement_from=(el(1) == "232", date8(el(2))). One
    group-by serves every qualifier of a segment, instead of one lookup and join per qualifier.
    """
    return rows.filter(pl.col(key).is_not_null()).group_by(key).agg(
        **{name: value.filter(cond).first() for name, (cond, value) in picks.items()}
    )


def key_prefix(file_sha256: str) -> str:
    """The part of a claim_key that names the file (the compiled core writes keys from it too)."""
    return file_sha256[:16] + "-"


def claim_key(file_sha256: str | Sequence[str], ordinal: pl.Expr) -> pl.Expr:
    """f"{file_sha256[:16]}-{ordinal:07d}" — stable across reruns of the same file.

    `file_sha256` is one hash, or the hashes of a batch's files indexed by file_id (see KEY_SPAN).
    """
    shas = [file_sha256] if isinstance(file_sha256, str) else list(file_sha256)
    if len(shas) == 1:
        prefix = pl.lit(key_prefix(shas[0]))
    else:
        prefix = file_of(ordinal).replace_strict(list(range(len(shas))), [key_prefix(s) for s in shas],
                                                 return_dtype=pl.String)
    return pl.concat_str(prefix, within_file(ordinal).cast(pl.String).str.zfill(7))


def npi_is_valid(npi: pl.Expr) -> pl.Expr:
    """Luhn check of a 10-digit NPI with the 80840 card-issuer prefix (CMS NPI standard).

    The prefix contributes a constant 24 to the Luhn sum. Null for values that are not ten
    digits, so a masked or missing NPI is not reported as a bad check digit.
    """
    digits = [npi.str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(10)]
    total = pl.lit(24)
    for i, d in enumerate(digits[:9]):
        if i % 2 == 0:  # doubled positions, counting from the right of the 9-digit base
            dd = d * 2
            total = total + pl.when(dd > 9).then(dd - 9).otherwise(dd)
        else:
            total = total + d
    check = (10 - total % 10) % 10
    return pl.when(npi.str.contains(r"^\d{10}$")).then(check == digits[9]).otherwise(None)
