"""ProviderProfile: taken from the 837s, overridden by YAML, unknowns marked "(fill in)"."""
from __future__ import annotations

import polars as pl
import pytest

from claimback.forms import ProviderProfile


def submitted() -> pl.DataFrame:
    return pl.DataFrame({
        "billing_npi": ["1999999984"] * 3 + ["1888888885"] * 2 + [None],
        "billing_name": ["EVERGREEN PT", "EVERGREEN PT", "Evergreen PT LLC", "OTHER", "OTHER", None],
        "billing_tax_id": ["911234567"] * 3 + ["900000000"] * 2 + [None],
    })


def test_from_claims_takes_most_common_billing_provider():
    profile = ProviderProfile.from_claims(submitted())
    assert (profile.npi, profile.name, profile.tin) == ("1999999984", "EVERGREEN PT", "911234567")
    assert profile.missing() == ["contact_name", "phone", "email", "address"]


def test_from_claims_without_claims_is_all_fill_in():
    assert ProviderProfile.from_claims(None).missing() == [
        "name", "npi", "tin", "contact_name", "phone", "email", "address"]


def test_yaml_overrides_claims(tmp_path):
    path = tmp_path / "provider.yaml"
    path.write_text("provider:\n  contact_name: Dana Lee\n  phone: 206-555-0100\n  name: Evergreen PT\n")
    profile = ProviderProfile.from_yaml(path, base=ProviderProfile.from_claims(submitted()))
    assert profile.name == "Evergreen PT" and profile.contact_name == "Dana Lee"
    assert profile.npi == "1999999984"
    assert profile.missing() == ["email", "address"]


def test_yaml_typo_is_an_error(tmp_path):
    path = tmp_path / "provider.yaml"
    path.write_text("contact: Dana\n")
    with pytest.raises(ValueError, match="contact"):
        ProviderProfile.from_yaml(path)
