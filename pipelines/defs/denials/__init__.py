"""Denials: which claims are denied now, why, for how much, and who can fix it."""
