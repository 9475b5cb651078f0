"""Trends: payer problems hitting 10+ claims at once, and their Claim Trend Identification packets."""
