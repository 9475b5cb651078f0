"""X12 reader: 835 remittances and 837P/I/D claims → the contract tables in claimback.schema.

    from claimback.x12 import read_x12, parse_paths, ParsedFile
    pf = read_x12("inbox/era.835")          # never raises; broken sets land in pf.tables["quarantine"]
    pfs = read_x12_many(paths)              # the same per file, many small files through one plan
    read_x12("big.835", sink=lambda table, rows: ...)  # rows handed over piece by piece, not held
    summary = parse_paths(["inbox/"], "out/")  # one Parquet per table, written atomically
"""
from claimback.x12.reader import ParsedFile, read_x12, read_x12_many
from claimback.x12.paths import parse_paths

__all__ = ["ParsedFile", "read_x12", "read_x12_many", "parse_paths"]
