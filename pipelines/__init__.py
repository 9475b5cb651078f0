"""claimback's Dagster side and its command line: every way a run starts imports this package first."""
from pipelines.allocator import prefer_kept_memory

prefer_kept_memory()  # before anything imports Polars (see pipelines/allocator.py)
