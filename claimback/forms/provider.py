"""Who is asking: the provider identity printed on every packet sent to a payer.

Taken from the 837s the organisation sent (the most common billing provider), then
overridden by a small YAML kept by the analysts for what X12 does not carry well
(contact person, phone, e-mail). Anything still unknown prints as "(fill in)".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import polars as pl
import yaml

from claimback.forms.pdf import FILL_IN


@dataclass(frozen=True)
class ProviderProfile:
    name: str = FILL_IN
    npi: str = FILL_IN
    tin: str = FILL_IN
    contact_name: str = FILL_IN
    phone: str = FILL_IN
    email: str = FILL_IN
    address: str = FILL_IN

    @classmethod
    def from_claims(cls, submitted_claims: pl.DataFrame | None) -> ProviderProfile:
        """The billing provider on most submitted claims, with its most common name and TIN."""
        if submitted_claims is None or submitted_claims.is_empty():
            return cls()
        npi = _most_common(submitted_claims, "billing_npi")
        if npi is None:
            return cls()
        own = submitted_claims.filter(pl.col("billing_npi") == npi)
        return cls(
            npi=npi,
            name=_most_common(own, "billing_name") or FILL_IN,
            tin=_most_common(own, "billing_tax_id") or FILL_IN,
        )

    @classmethod
    def from_yaml(cls, path: str | Path, base: ProviderProfile | None = None) -> ProviderProfile:
        """`base` (default: all "(fill in)") with the fields the YAML file sets.

        The file is a mapping of the field names (name, npi, tin, contact_name, phone,
        email, address), optionally under a top-level `provider:` key. Unknown keys are
        an error, so a typo is not silently ignored.
        """
        data = yaml.safe_load(Path(path).read_text()) or {}
        if isinstance(data.get("provider"), dict):
            data = data["provider"]
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown provider profile fields in {Path(path).name}: {unknown}")
        overrides = {k: str(v).strip() for k, v in data.items() if v is not None and str(v).strip()}
        return replace(base or cls(), **overrides)

    def missing(self) -> list[str]:
        """Fields still to fill in by hand before a packet goes out."""
        return [k for k, v in asdict(self).items() if v == FILL_IN]


def _most_common(frame: pl.DataFrame, column: str) -> str | None:
    if column not in frame.columns:
        return None
    counts = (
        frame.select(pl.col(column).cast(pl.String).str.strip_chars())
        .filter(pl.col(column).is_not_null() & (pl.col(column) != ""))
        .group_by(column)
        .len()
        .sort(["len", column], descending=[True, False])
    )
    return None if counts.is_empty() else counts[column][0]
