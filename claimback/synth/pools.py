"""Reference pools for the synthetic inbox: payers, providers, procedures, diagnoses, people.

Everything here is fictional but shaped like the real thing, so the pipeline meets the same
values it meets in production: NPIs carry a valid Luhn check digit (prefix 80840), TINs look
like EINs, procedure codes and charges are plausible for the kind of provider, and patients
have PHI-shaped names, member IDs and birth dates (the PHI tests search for them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def npi_check_digit(first9: str) -> str:
    """The NPI check digit: Luhn over the card-issuer prefix 80840 followed by the 9 digits."""
    digits = [int(d) for d in "80840" + first9]
    total = 0
    # Luhn doubles every second digit counting from the right of the payload, which
    # (with the check digit still to be appended) starts at the rightmost payload digit.
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_npi(first9: str) -> str:
    return first9 + npi_check_digit(first9)


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi_check_digit(npi[:9]) == npi[9]


@dataclass(frozen=True)
class Payer:
    name: str
    payer_id: str
    filing_indicator: str  # CLP06 / SBR09: MC Medicaid, CI commercial
    weight: float  # share of claim volume
    allowed_ratio: float  # allowed / charge on a clean claim
    check_weekday: int  # 0 = Monday: payers run their check cycle on one weekday
    lag_days: tuple[int, int]  # receipt -> remittance
    member_prefix: str
    address: tuple[str, str, str, str]  # street, city, state, zip
    tin: str
    phone: str


# Exactly these payers: the routing rules (payer_rules.yaml) key on the ids.
PAYERS: tuple[Payer, ...] = (
    Payer("COORDINATED CARE OF WASHINGTON", "CCWA1", "MC", 0.26, 0.58, 1, (12, 30), "CW",
          ("1145 BROADWAY SUITE 300", "TACOMA", "WA", "98402"), "910000101", "8772630091"),
    Payer("SUNSHINE HEALTH", "SUNSH", "MC", 0.14, 0.55, 2, (14, 35), "SH",
          ("1301 INTERNATIONAL PKWY", "SUNRISE", "FL", "33323"), "590000202", "8448774000"),
    Payer("CARESOURCE OHIO", "CSOH1", "MC", 0.14, 0.57, 3, (10, 28), "CS",
          ("230 N MAIN ST", "DAYTON", "OH", "45402"), "310000303", "8004886090"),
    Payer("LOUISIANA HEALTHCARE CONNECTIONS", "LHCC1", "MC", 0.11, 0.56, 1, (12, 32), "LH",
          ("8585 ARCHIVES AVE", "BATON ROUGE", "LA", "70809"), "720000404", "8666951000"),
    Payer("UNITEDHEALTHCARE COMMUNITY PLAN", "UHCCP", "MC", 0.17, 0.60, 4, (9, 25), "UC",
          ("PO BOX 5240", "KINGSTON", "NY", "12402"), "410000505", "8777421000"),
    Payer("ACME COMMERCIAL HEALTH", "ACME1", "CI", 0.18, 0.72, 0, (8, 24), "AC",
          ("400 COMMERCE PLAZA", "HARTFORD", "CT", "06103"), "060000606", "8005550199"),
)
PAYER_INDEX = {p.payer_id: i for i, p in enumerate(PAYERS)}


@dataclass(frozen=True)
class Procedure:
    code: str
    charge_cents: int  # per unit
    max_units: int
    modifier: str  # usual modifier ("" when none)
    revenue_code: str  # 837I/835 SVC04 ("" for professional/dental)


@dataclass(frozen=True)
class Provider:
    name: str
    claim_type: str  # P, I, D
    npi: str
    tin: str
    taxonomy: str
    address: tuple[str, str, str, str]
    renderers: tuple[tuple[str, str, str], ...]  # (last, first, npi)
    procedures: tuple[Procedure, ...]
    diagnoses: tuple[str, ...]
    place_of_service: str  # POS for P/D, bill type prefix (e.g. "13") for I
    weight: float
    # Patient control numbers are assigned by the provider's PM system. Evergreen and Cascade are
    # two practices (two TINs) of one organisation on one PM system: each numbers its own
    # encounters ENC00000001, ENC00000002, ... so their numbers collide, as real ones do.
    pcn_prefix: str
    payer_mix: tuple[tuple[str, float], ...]  # the payers its patients have, by share
    # 2010AA PER (name, phone, e-mail): some practices put their billing contact on the 837
    billing_contact: tuple[str, str, str] | None = None


def _p(code: str, dollars: float, max_units: int = 1, modifier: str = "", rev: str = "") -> Procedure:
    return Procedure(code, int(round(dollars * 100)), max_units, modifier, rev)


PT = (_p("97110", 68, 4, "GP"), _p("97140", 62, 3, "GP"), _p("97530", 72, 3, "GP"),
      _p("97112", 70, 2, "GP"), _p("97116", 60, 2, "GP"), _p("97161", 145, 1, "GP"),
      _p("97162", 165, 1, "GP"))
PRIMARY_CARE = (_p("99213", 155), _p("99214", 225), _p("99203", 180), _p("99204", 275),
                _p("96372", 45), _p("36415", 22), _p("80053", 64), _p("85025", 38),
                _p("93000", 82), _p("G0439", 210), _p("90471", 35), _p("90686", 48),
                _p("81002", 18))
SPECIALTY = (_p("99204", 290), _p("99214", 235), _p("20610", 260, 1, "RT"), _p("71046", 125),
             _p("90834", 165), _p("90837", 215), _p("96372", 48), _p("73721", 980, 1, "LT"),
             _p("29881", 2450, 1, "RT"))
HOSPITAL = (_p("99284", 1250, 1, "", "0450"), _p("99283", 780, 1, "", "0450"),
            _p("80053", 140, 1, "", "0300"), _p("85025", 75, 1, "", "0305"),
            _p("71046", 410, 1, "", "0320"), _p("70450", 1580, 1, "", "0350"),
            _p("93005", 155, 1, "", "0730"), _p("J1885", 38, 2, "", "0636"),
            _p("96374", 260, 1, "", "0260"), _p("36415", 30, 1, "", "0300"))
DENTAL = (_p("D0120", 62), _p("D0150", 98), _p("D1110", 115), _p("D0274", 78),
          _p("D0220", 34), _p("D2391", 185), _p("D2740", 1240), _p("D1206", 45))


def _renderers(rng: np.random.Generator, lasts: list[str], firsts: list[str], base: int) -> tuple:
    return tuple((last, first, make_npi(str(base + i * 7919 + int(rng.integers(0, 7000)))))
                 for i, (last, first) in enumerate(zip(lasts, firsts)))


def make_providers() -> tuple[Provider, ...]:
    """The provider organisations; fixed (not seeded) so NPIs are stable across runs."""
    rng = np.random.default_rng(20260101)
    return (
        Provider("EVERGREEN PHYSICAL THERAPY GROUP", "P", make_npi("148273615"), "912345678",
                 "225100000X", ("2200 PACIFIC AVE", "TACOMA", "WA", "98402"),
                 _renderers(rng, ["HOLLOWAY", "BRANDT", "OKAFOR", "LINDQVIST"],
                            ["MEGAN", "TREVOR", "ADAEZE", "SOREN"], 162840000),
                 PT, ("M5450", "M25561", "S83511A", "M7918", "M6281", "S93401A"), "11", 0.24, "ENC",
                 (("CCWA1", 0.45), ("SUNSH", 0.15), ("UHCCP", 0.15), ("ACME1", 0.25)),
                 billing_contact=("JORDAN ELLIS", "2535550142", "BILLING@EVERGREENPT.EXAMPLE")),
        Provider("CASCADE FAMILY MEDICINE PLLC", "P", make_npi("132759204"), "913456789",
                 "207Q00000X", ("815 MERCER ST", "SEATTLE", "WA", "98109"),
                 _renderers(rng, ["NAKAMURA", "OSEI", "FAIRBANKS", "DELACROIX", "PETROV"],
                            ["KENJI", "ABENA", "WALTER", "CELINE", "IRINA"], 171120000),
                 PRIMARY_CARE, ("I10", "E119", "Z0000", "J069", "E785", "F411", "N390", "Z23"),
                 "11", 0.30, "ENC",
                 (("CCWA1", 0.45), ("UHCCP", 0.30), ("ACME1", 0.25))),
        Provider("RIVERBEND MEDICAL ASSOCIATES", "P", make_npi("169384027"), "316789012",
                 "207X00000X", ("4400 RIVERSIDE DR", "DAYTON", "OH", "45405"),
                 _renderers(rng, ["ABERNATHY", "QUINTERO", "VOSS"], ["DANIEL", "LUCIA", "HELGA"],
                            183350000),
                 SPECIALTY, ("M1711", "M2551", "F329", "F411", "S83241A", "M545", "R0789"),
                 "11", 0.18, "RMA",
                 (("CSOH1", 0.55), ("UHCCP", 0.20), ("ACME1", 0.25))),
        Provider("MERIDIAN VALLEY COMMUNITY HOSPITAL", "I", make_npi("115628390"), "597890123",
                 "282N00000X", ("1 HOSPITAL WAY", "BATON ROUGE", "LA", "70806"),
                 _renderers(rng, ["CASTELLANOS", "WHITFIELD", "ADEYEMI", "BJORK"],
                            ["RAFAEL", "JUNE", "TUNDE", "ASTRID"], 195560000),
                 HOSPITAL, ("R079", "R0602", "S0990XA", "N390", "R1031", "J189", "I4891"),
                 "13", 0.22, "MVH",
                 (("LHCC1", 0.50), ("UHCCP", 0.25), ("ACME1", 0.25))),
        Provider("BRIGHTSMILE DENTAL CLINIC", "D", make_npi("154937261"), "596543210",
                 "1223G0001X", ("77 CORAL WAY", "MIAMI", "FL", "33145"),
                 _renderers(rng, ["MARCHETTI", "OYELARAN"], ["GIULIA", "FEMI"], 126670000),
                 DENTAL, ("K0251", "K0252", "Z012", "K051"), "11", 0.06, "BSD",
                 (("SUNSH", 0.70), ("ACME1", 0.30))),
    )


PROVIDERS = make_providers()

class ProcedureTable:
    """Every provider's procedure list flattened into columns, for vectorised look-ups."""

    def __init__(self, providers: tuple[Provider, ...]) -> None:
        flat = [p for prov in providers for p in prov.procedures]
        self.offsets = np.cumsum([0] + [len(prov.procedures) for prov in providers])[:-1]
        self.sizes = np.array([len(prov.procedures) for prov in providers])
        self.code = np.array([p.code for p in flat])
        self.modifier = np.array([p.modifier for p in flat])
        self.revenue_code = np.array([p.revenue_code for p in flat])
        self.charge_cents = np.array([p.charge_cents for p in flat], dtype=np.int64)
        self.max_units = np.array([p.max_units for p in flat], dtype=np.int64)

    def rows(self, provider: np.ndarray, procedure: np.ndarray) -> np.ndarray:
        """Row of (provider index, index in that provider's list) in the flat columns."""
        return self.offsets[provider] + procedure


PROCEDURES = ProcedureTable(PROVIDERS)

FIRST_NAMES = (
    "AVERY", "BRIELLE", "CALLUM", "DELPHINE", "EZEKIEL", "FIONNUALA", "GIDEON", "HARRIET",
    "IGNATIUS", "JOSEPHINE", "KASIMIR", "LEONORA", "MAXIMILIAN", "NERISSA", "OSWIN", "PERPETUA",
    "QUENTIN", "ROSALIND", "SEBASTIAN", "TABITHA", "ULRICH", "VERONIQUE", "WILHELMINA", "XAVIER",
    "YOLANDA", "ZEBEDEE", "AMARA", "BARNABY", "CORDELIA", "DASHIELL", "EVANGELINE", "FITZGERALD",
    "GWENDOLYN", "HORATIO", "ISOLDE", "JASPER", "KLEMENTINE", "LEOPOLD", "MARIGOLD", "NATHANIEL",
)
# Surnames are built from two parts so they look real but rarely match a real person.
SURNAME_HEADS = ("ASH", "BRAM", "COLD", "DUN", "ELDER", "FAIR", "GLEN", "HAWK", "IVY", "KIRK",
                 "LARK", "MARSH", "NETHER", "OAK", "PEN", "QUILL", "RAVEN", "STONE", "THORN",
                 "WREN", "YARROW", "BRACK", "CRAN", "DRAKE")
SURNAME_TAILS = ("BURY", "FIELD", "WOOD", "LEY", "TON", "WICK", "MERE", "DALE", "FORD", "HOLT",
                 "STEAD", "WELL", "CROFT", "BRIDGE", "HURST", "COMBE")
STREETS = ("MAPLE", "CEDAR", "HARBOR", "SUMMIT", "WILLOW", "LAUREL", "BIRCH", "ORCHARD",
           "JUNIPER", "SPRUCE", "MEADOW", "CANYON")
STREET_KINDS = ("ST", "AVE", "LN", "DR", "CT", "WAY", "PL")


@dataclass
class People:
    """A pool of synthetic patients (column lists, indexed by patient number)."""

    last: list[str]
    first: list[str]
    sex: list[str]
    dob: list[str]  # CCYYMMDD
    street: list[str]
    payer: list[int]  # index into PAYERS: the patient's coverage
    member_id: list[str]
    dependent: list[bool]  # patient is a dependent of the subscriber
    sub_first: list[str]  # subscriber first name (same surname) when dependent
    sub_dob: list[str]


def make_people(rng: np.random.Generator, n: int, serial0: int) -> People:
    """`n` patients with coverage drawn by payer volume; ids are unique via `serial0`."""
    weights = np.array([p.weight for p in PAYERS])
    payer = rng.choice(len(PAYERS), size=n, p=weights / weights.sum())
    heads = rng.integers(0, len(SURNAME_HEADS), n)
    tails = rng.integers(0, len(SURNAME_TAILS), n)
    firsts = rng.integers(0, len(FIRST_NAMES), n)
    sub_firsts = rng.integers(0, len(FIRST_NAMES), n)
    sexes = rng.integers(0, 2, n)
    # Birth dates between 1938 and 2023 as day offsets; dependents are children.
    dependent = rng.random(n) < 0.18
    born = np.where(dependent, rng.integers(365 * 36, 365 * 53, n), rng.integers(-11_700, 365 * 40, n))
    sub_born = born - rng.integers(365 * 22, 365 * 40, n)
    dob = np.datetime_as_string(np.datetime64("1970-01-01") + born.astype("timedelta64[D]"))
    sub_dob = np.datetime_as_string(np.datetime64("1970-01-01") + sub_born.astype("timedelta64[D]"))
    numbers = rng.integers(100, 99_999, n)
    kinds = rng.integers(0, len(STREET_KINDS), n)
    streets = rng.integers(0, len(STREETS), n)
    serial = np.arange(serial0, serial0 + n)
    member_ids = [
        f"{PAYERS[p].member_prefix}{(s * 7_919 + 104_729) % 1_000_000_000:09d}{'0' if PAYERS[p].filing_indicator == 'CI' else ''}"
        for p, s in zip(payer.tolist(), serial.tolist())
    ]
    return People(
        last=[SURNAME_HEADS[h] + SURNAME_TAILS[t] for h, t in zip(heads.tolist(), tails.tolist())],
        first=[FIRST_NAMES[f] for f in firsts.tolist()],
        sex=["F" if s else "M" for s in sexes.tolist()],
        dob=[d.replace("-", "") for d in dob.tolist()],
        street=[f"{num} {STREETS[s]} {STREET_KINDS[k]}"
                for num, s, k in zip(numbers.tolist(), streets.tolist(), kinds.tolist())],
        payer=payer.tolist(),
        member_id=member_ids,
        dependent=dependent.tolist(),
        sub_first=[FIRST_NAMES[f] for f in sub_firsts.tolist()],
        sub_dob=[d.replace("-", "") for d in sub_dob.tolist()],
    )
