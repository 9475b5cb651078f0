"""Who is asking: the billing provider printed on each packet, claim by claim.

A packet names the claim's OWN billing provider: the 837's 2010AA loop (name, NPI, TIN,
address, and its PER contact when the 837 carries one), or, for a claim whose 837 was never
seen, the 835's payee (N1*PE name and NPI, REF*TJ TIN). What X12 does not carry well — the
person the payer should call back, a phone, an e-mail, a mailing address for correspondence —
comes from the provider profile file (`--provider-profile`): one profile per billing NPI/TIN.

    providers:
      - npi: "1327592048"          # match on NPI, TIN or both (a TIN-only profile covers the group)
        tin: "91-3456789"
        contact_name: Dana Lee
        phone: 206-555-0100
        fax: 206-555-0101
        email: billing@example.org
        address: PO Box 100, Seattle, WA 98101   # where the payer should write back

A claim whose provider has no profile prints its contact lines blank (to be written in), and the
run says so once per provider, never once per packet.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import polars as pl
import yaml

from claimback.forms.pdf import FILL_IN

# The profile fields a file may set; npi and tin are what a profile is matched on.
CONTACT_FIELDS = ("contact_name", "phone", "fax", "email", "address")


class ProviderProfileError(ValueError):
    """A provider profile file that cannot be used as it is (names the file and the problem)."""


def printed(value: object) -> str:
    """A claim's provider field as a profile prints it: trimmed, "(fill in)" when there is none."""
    return str(value).strip() if value is not None and str(value).strip() else FILL_IN


@dataclass(frozen=True)
class ProviderProfile:
    name: str = FILL_IN
    npi: str = FILL_IN
    tin: str = FILL_IN
    contact_name: str = FILL_IN
    phone: str = FILL_IN
    email: str = FILL_IN
    address: str = FILL_IN
    fax: str = FILL_IN
    source: str = ""  # where the identity came from: "837 billing provider (2010AA)", "835 payee (N1*PE)"

    @classmethod
    def from_claim(cls, claim: Mapping) -> ProviderProfile:
        """The billing provider of one claim row (see `claim_providers` for the columns)."""
        def value(key: str) -> str:
            return printed(claim.get(key))

        return cls(name=value("provider_name"), npi=value("provider_npi"), tin=value("provider_tin"),
                   address=value("provider_address"), contact_name=value("provider_contact_name"),
                   phone=phone_number(value("provider_phone")), email=value("provider_email"),
                   source=str(claim.get("provider_source") or ""))

    @classmethod
    def from_yaml(cls, path: str | Path, base: ProviderProfile | None = None) -> ProviderProfile:
        """A file holding ONE profile (the older format): `base` with the fields it sets."""
        profiles = load_profiles(path)
        if len(profiles) != 1:
            raise ProviderProfileError(f"{Path(path).name} holds {len(profiles)} provider profiles, not one")
        return (base or cls()).with_profile(profiles[0])

    def with_profile(self, profile: ProviderProfile | None) -> ProviderProfile:
        """This claim's identity with the profile's contact details laid over it.

        NPI and TIN stay the claim's own (they are what the profile was matched on); the name and
        address come from the profile only where the claim has none — the 837 name is the legal one.
        """
        if profile is None:
            return self
        changes = {k: getattr(profile, k) for k in CONTACT_FIELDS if getattr(profile, k) != FILL_IN}
        for key in ("name", "npi", "tin"):
            if getattr(self, key) == FILL_IN and getattr(profile, key) != FILL_IN:
                changes[key] = getattr(profile, key)
        return replace(self, **changes)

    def missing(self) -> list[str]:
        """Fields still to fill in by hand before a packet goes out."""
        return [k for k, v in asdict(self).items() if v == FILL_IN]

    @property
    def label(self) -> str:
        """How a run names the provider in a message: NPI and TIN, never a patient detail."""
        parts = [f"NPI {self.npi}" if self.npi != FILL_IN else "", f"TIN {self.tin}" if self.tin != FILL_IN else ""]
        return " / ".join(p for p in parts if p) or "an unidentified billing provider"


def phone_number(value: str) -> str:
    """A 10-digit X12 phone (PER04 "2535550142") as people write it: 253-555-0142."""
    return f"{value[:3]}-{value[3:6]}-{value[6:]}" if re.fullmatch(r"\d{10}", value) else value


def digits(value: object) -> str:
    """A TIN or NPI as digits only: "91-3456789" and "913456789" are one TIN."""
    return re.sub(r"\D", "", str(value or ""))


def load_profiles(path: str | Path) -> list[ProviderProfile]:
    """The profiles of a provider profile file.

    `providers:` is a list of profiles; a bare mapping (or one under `provider:`) is one profile,
    as older files were. Each needs an npi or a tin to be matched on; unknown keys are an error,
    so a typo is never silently ignored.
    """
    name = Path(path).name
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ProviderProfileError(f"{name}: expected a mapping with a `providers:` list")
    if isinstance(data.get("providers"), list):
        entries = data["providers"]
    elif isinstance(data.get("provider"), dict):
        entries = [data["provider"]]
    else:
        entries = [data]
    known = {f.name for f in fields(ProviderProfile)} - {"source"}
    profiles = []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ProviderProfileError(f"{name}: provider {i} is not a mapping")
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ProviderProfileError(f"unknown provider profile fields in {name} (provider {i}): {unknown}")
        values = {k: str(v).strip() for k, v in entry.items() if v is not None and str(v).strip()}
        if not (digits(values.get("npi")) or digits(values.get("tin"))):
            raise ProviderProfileError(f"{name}: provider {i} has neither npi nor tin to match claims on")
        profiles.append(ProviderProfile(**values, source=f"provider profile {name}"))
    return profiles


class ProviderDirectory:
    """The profiles of one run, looked up per claim; remembers which providers had none."""

    def __init__(self, profiles: Iterable[ProviderProfile] = (), fallback: ProviderProfile | None = None):
        self.profiles = list(profiles)
        # printed for a claim whose 837 and 835 both fail to name its provider (a caller that
        # knows its single practice); never laid over a claim that names its own
        self.fallback = fallback
        self.without_profile: dict[tuple[str, str], ProviderProfile] = {}

    @classmethod
    def from_file(cls, path: str | Path | None) -> ProviderDirectory:
        return cls(load_profiles(path) if path else ())

    def profile_for(self, npi: object, tin: object) -> ProviderProfile | None:
        """The profile matching NPI and TIN; else NPI alone; else a TIN-only (group) profile."""
        npi, tin = digits(npi), digits(tin)
        ranked = []
        for p in self.profiles:
            p_npi, p_tin = digits(p.npi), digits(p.tin)
            if (p_npi and p_npi != npi) or (p_tin and p_tin != tin):
                continue  # a profile never matches a provider whose NPI or TIN it contradicts
            ranked.append((bool(p_npi) + bool(p_tin), bool(p_npi), p))
        if not ranked:
            return None
        return max(ranked, key=lambda r: (r[0], r[1]))[2]

    def for_claim(self, claim: Mapping | ProviderProfile) -> ProviderProfile:
        """The claim's own provider with its profile's contact details; unmatched ones are noted."""
        own = claim if isinstance(claim, ProviderProfile) else ProviderProfile.from_claim(claim)
        if self.fallback is not None and own.npi == FILL_IN and own.tin == FILL_IN:
            return self.fallback
        profile = self.profile_for(own.npi, own.tin)
        if profile is None:
            self.without_profile.setdefault((own.npi, own.tin), own)
        return own.with_profile(profile)

    def missing_message(self) -> str | None:
        """One sentence for the run's log naming every provider without a profile (no PHI)."""
        if not self.without_profile:
            return None
        labels = sorted(p.label for p in self.without_profile.values())
        return (f"no provider profile for {len(labels)} billing provider(s) ({'; '.join(labels)}): their "
                "packets leave the contact lines blank to be written in; add them to the --provider-profile file")


# --- each claim's billing provider, from the 837 or else the 835 -----------------------------------
PROVIDER_COLUMNS = {
    "claim_key": pl.String, "provider_name": pl.String, "provider_npi": pl.String, "provider_tin": pl.String,
    "provider_address": pl.String, "provider_contact_name": pl.String, "provider_phone": pl.String,
    "provider_email": pl.String, "provider_source": pl.String,
}
SOURCE_837 = "837 billing provider (2010AA)"
SOURCE_835 = "835 payee (N1*PE)"


def claim_providers(
    claims: pl.DataFrame,
    submitted_claims: pl.DataFrame | None = None,
    remit_claims: pl.DataFrame | None = None,
    remit_payments: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per claim_key of `claims` (denials rows: claim_key, submitted_claim_key), its billing provider.

    The matched 837 claim's 2010AA values; for a claim without one, the payee of the 835 that
    denied it (remit_claims.payee_npi, and remit_payments' payee name and TIN of its transaction).
    """
    keys = claims.select("claim_key", *(["submitted_claim_key"] if "submitted_claim_key" in claims.columns else []))
    frame = keys.unique("claim_key")
    if submitted_claims is not None and "submitted_claim_key" in frame.columns:
        billing = _columns(submitted_claims, {
            "claim_key": "submitted_claim_key", "billing_name": "b_name", "billing_npi": "b_npi",
            "billing_tax_id": "b_tin", "billing_address": "b_address", "billing_contact_name": "b_contact",
            "billing_contact_phone": "b_phone", "billing_contact_email": "b_email"})
        frame = frame.join(billing.unique("submitted_claim_key"), on="submitted_claim_key", how="left")
    if remit_claims is not None:
        payee = _columns(remit_claims, {"claim_key": "claim_key", "payee_npi": "p_npi", "payee_tax_id": "p_tin",
                                        "transaction_hash": "transaction_hash"})
        if remit_payments is not None and "transaction_hash" in payee.columns:
            payment = _columns(remit_payments, {"transaction_hash": "transaction_hash", "payee_name": "p_name",
                                                "payee_tax_id": "payment_tin"})
            payee = payee.join(payment.unique("transaction_hash"), on="transaction_hash", how="left")
            if "payment_tin" in payee.columns:  # an older lake's remit_claims has no payee TIN
                payee = payee.with_columns(p_tin=pl.coalesce(*[c for c in ("p_tin", "payment_tin")
                                                               if c in payee.columns])).drop("payment_tin")
        frame = frame.join(payee.unique("claim_key"), on="claim_key", how="left")
    for column in ("b_name", "b_npi", "b_tin", "b_address", "b_contact", "b_phone", "b_email",
                   "p_name", "p_npi", "p_tin"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    from_837 = pl.col("b_npi").is_not_null() | pl.col("b_tin").is_not_null()
    pick = lambda b, p: pl.when(from_837).then(pl.col(b)).otherwise(pl.col(p))  # noqa: E731
    return frame.select(
        "claim_key",
        provider_name=pick("b_name", "p_name"),
        provider_npi=pick("b_npi", "p_npi"),
        provider_tin=pick("b_tin", "p_tin"),
        provider_address=pl.when(from_837).then(pl.col("b_address")),
        provider_contact_name=pl.when(from_837).then(pl.col("b_contact")),
        provider_phone=pl.when(from_837).then(pl.col("b_phone")),
        provider_email=pl.when(from_837).then(pl.col("b_email")),
        provider_source=pl.when(from_837).then(pl.lit(SOURCE_837))
        .when(pl.col("p_npi").is_not_null() | pl.col("p_tin").is_not_null()).then(pl.lit(SOURCE_835)),
    ).cast(PROVIDER_COLUMNS)


def _columns(frame: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """The named columns of `frame` that exist, renamed, as strings."""
    return frame.select([pl.col(k).cast(pl.String).alias(v) for k, v in names.items() if k in frame.columns])


def provider_rows(provider: ProviderProfile) -> list[tuple[str, object]]:
    """The provider block of a packet. Contact lines the run does not know print blank (to be
    written in): the run's log names the providers without a profile once."""
    def known(value: str) -> str:
        return "" if value == FILL_IN else value

    rows = [
        ("Provider / practice name", provider.name),
        ("Billing NPI", provider.npi),
        ("Tax ID (TIN)", provider.tin),
        ("Address", known(provider.address)),
        ("Contact person", known(provider.contact_name)),
        ("Phone", known(provider.phone)),
        ("Fax", known(provider.fax)),
        ("E-mail", known(provider.email)),
    ]
    return [(label, value) for label, value in rows if label != "Fax" or value]  # fax only when known
