"""Provider per claim: the claim's own 837 billing provider (835 payee as fallback), with the
contact details of its profile (one per billing NPI/TIN), a missing profile said once."""
from __future__ import annotations

import polars as pl
import pytest

from claimback.forms import ProviderDirectory, ProviderProfile, load_profiles
from claimback.forms.provider import SOURCE_835, SOURCE_837, claim_providers

PROFILES = """\
providers:
  - npi: "1999999984"
    tin: "91-1234567"
    contact_name: Dana Lee
    phone: 206-555-0100
    email: billing@example.org
  - tin: "900000000"          # a whole group, any of its NPIs
    contact_name: Sam Roe
    address: PO Box 9, Tacoma, WA 98402
"""


@pytest.fixture
def profiles(tmp_path):
    path = tmp_path / "providers.yaml"
    path.write_text(PROFILES)
    return path


def test_each_claim_names_its_own_billing_provider_837_first_then_835_payee():
    denials = pl.DataFrame({"claim_key": ["R1", "R2", "R3"], "submitted_claim_key": ["S1", "S2", None]})
    submitted = pl.DataFrame({
        "claim_key": ["S1", "S2"], "billing_npi": ["1999999984", "1888888885"],
        "billing_name": ["EVERGREEN PT", "TACOMA FAMILY MED"], "billing_tax_id": ["911234567", "900000000"],
        "billing_address": ["100 MAIN ST, SEATTLE, WA 98101", None],
    })
    remit = pl.DataFrame({"claim_key": ["R1", "R2", "R3"], "payee_npi": ["1111111112"] * 3,
                          "transaction_hash": ["T1"] * 3})
    payments = pl.DataFrame({"transaction_hash": ["T1"], "payee_name": ["PAYEE CLINIC"],
                             "payee_tax_id": ["800000000"]})
    rows = {r["claim_key"]: r for r in claim_providers(denials, submitted, remit, payments).iter_rows(named=True)}
    assert (rows["R1"]["provider_npi"], rows["R1"]["provider_tin"], rows["R1"]["provider_name"]) == (
        "1999999984", "911234567", "EVERGREEN PT")
    assert rows["R1"]["provider_address"] == "100 MAIN ST, SEATTLE, WA 98101"
    assert rows["R2"]["provider_npi"] == "1888888885" and rows["R2"]["provider_source"] == SOURCE_837
    # no 837 matched: the 835's payee, never another claim's provider
    assert (rows["R3"]["provider_npi"], rows["R3"]["provider_tin"], rows["R3"]["provider_name"]) == (
        "1111111112", "800000000", "PAYEE CLINIC")
    assert rows["R3"]["provider_source"] == SOURCE_835


def test_profile_matched_on_npi_and_tin_adds_contacts_but_never_changes_identity(profiles):
    directory = ProviderDirectory.from_file(profiles)
    own = ProviderProfile(name="EVERGREEN PT", npi="1999999984", tin="911234567")
    printed = directory.for_claim(own)
    assert (printed.name, printed.npi, printed.tin) == ("EVERGREEN PT", "1999999984", "911234567")
    assert (printed.contact_name, printed.phone, printed.email) == ("Dana Lee", "206-555-0100", "billing@example.org")
    group = directory.for_claim(ProviderProfile(name="TACOMA", npi="1888888885", tin="90-0000000"))
    assert group.contact_name == "Sam Roe" and group.address == "PO Box 9, Tacoma, WA 98402"
    assert directory.missing_message() is None


def test_a_profile_never_matches_a_provider_whose_npi_or_tin_it_contradicts(profiles):
    directory = ProviderDirectory.from_file(profiles)
    other = directory.for_claim(ProviderProfile(name="OTHER", npi="1999999984", tin="123456789"))
    assert other.contact_name == ProviderProfile().contact_name  # same NPI, another TIN: not Dana's
    assert "NPI 1999999984 / TIN 123456789" in directory.missing_message()


def test_missing_profile_is_said_once_per_provider_not_per_packet(profiles):
    directory = ProviderDirectory.from_file(profiles)
    for _ in range(100):
        directory.for_claim(ProviderProfile(npi="1777777776", tin="700000000"))
    message = directory.missing_message()
    assert message.count("1777777776") == 1 and message.startswith("no provider profile for 1 billing")


def test_older_single_profile_file_still_loads(tmp_path):
    path = tmp_path / "provider.yaml"
    path.write_text("provider:\n  npi: '1999999984'\n  contact_name: Dana Lee\n")
    assert [p.contact_name for p in load_profiles(path)] == ["Dana Lee"]
    assert ProviderProfile.from_yaml(path, base=ProviderProfile(npi="1999999984")).contact_name == "Dana Lee"


@pytest.mark.parametrize("text, message", [
    ("providers:\n  - npi: '1'\n    contact: Dana\n", "contact"),
    ("providers:\n  - contact_name: Dana\n", "neither npi nor tin"),
    ("- a\n- b\n", "mapping"),
])
def test_bad_profile_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "provider.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_profiles(path)
