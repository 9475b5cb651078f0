"""claimback: win back denied healthcare claims from the X12 an organisation already has.

The domain library. It reads 835 remittances and 837 claims into Polars frames, classifies
denials, finds payer trends and routes every denial; it knows nothing of Dagster.
"""
__version__ = "0.1.0"
