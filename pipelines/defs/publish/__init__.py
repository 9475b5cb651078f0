"""Publish: the DuckDB file analysts open."""
