"""Ingest: the inbox's 835s, 837s, 999s and 277CAs read into the lake's tables (x12_lake)."""
