"""Dagster assets and asset checks, one module per pipeline stage; each asset calls the library."""
