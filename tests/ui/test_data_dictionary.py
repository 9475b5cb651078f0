"""docs/data-dictionary.md describes every contract table and column, and every analyst view."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from claimback.publish import SQL_DIR
from claimback.schema import CONTRACT_TABLES, DESCRIPTIONS, TABLES, duckdb_type

ROOT = Path(__file__).resolve().parents[2]
DICTIONARY = ROOT / "docs" / "data-dictionary.md"


def _sections() -> dict[str, str]:
    text = DICTIONARY.read_text()
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {part.splitlines()[0].strip(): part for part in parts}


def _described_columns(section: str) -> dict[str, str]:
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| [^|]+ \| (.*) \|$", section, flags=re.MULTILINE)
    return dict(rows)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_contract_column_is_described(table: str):
    sections = _sections()
    assert table in sections, f"{table} is missing from docs/data-dictionary.md"
    described = _described_columns(sections[table])
    undocumented = [c for c in TABLES[table] if len(described.get(c, "").split()) < 2]
    assert not undocumented, f"{table}: columns without a description: {undocumented}"


@pytest.mark.parametrize("table", sorted(TABLES))
def test_each_section_opens_with_the_schemas_description(table: str):
    """The table's one-line description (claimback.schema.DESCRIPTIONS, its asset's description in
    Dagster) is the first sentence of its section here; the section goes on with the detail."""
    assert table in DESCRIPTIONS, f"claimback/schema.py: DESCRIPTIONS has no entry for {table}"
    paragraph = _sections()[table].split("\n\n")[1]
    opening = " ".join(paragraph.replace("_Contract table._", "").replace("_Supporting table._", "").split())
    assert opening.startswith(DESCRIPTIONS[table]), (
        f"docs/data-dictionary.md, {table}: the section should open with {DESCRIPTIONS[table]!r}")


def test_every_view_file_is_listed():
    views = _sections()["Views"]
    missing = [p.stem for p in sorted(SQL_DIR.glob("*.sql")) if f"`{p.stem}`" not in views]
    assert not missing, f"views missing from the data dictionary: {missing}"


def test_phi_columns_are_marked():
    sections = _sections()
    for table, column in [("remit_claims", "patient_last_name"), ("remit_claims", "member_id"),
                          ("submitted_claims", "patient_birth_date"), ("submitted_claims", "subscriber_member_id")]:
        assert _described_columns(sections[table])[column].startswith("PHI"), f"{table}.{column} is not marked PHI"


def _documented(section: str) -> list[tuple[str, str]]:
    return re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+?) \| .* \|$", section, flags=re.MULTILINE)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_dictionary_lists_each_table_as_the_schema_defines_it(table: str):
    """Columns in the schema's order, with the type the published file gives them: a column added,
    dropped, renamed or retyped in claimback/schema.py fails here until the dictionary says so."""
    documented = _documented(_sections()[table])
    expected = [(name, duckdb_type(dtype)) for name, dtype in TABLES[table].items()]
    assert documented == expected, (
        f"docs/data-dictionary.md, {table}: the table lists {documented}, claimback/schema.py defines {expected}")


# Sections of the dictionary that are not one table of schema.TABLES.
NOT_SCHEMA_TABLES = {
    "Claim identity and order", "Views",
    "publish_info",  # written by claimback.publish in SQL, one row about the file itself
}


def test_every_table_the_dictionary_describes_has_a_schema():
    described = {name for name in _sections() if not name.startswith("#")} - NOT_SCHEMA_TABLES
    assert sorted(described - set(TABLES)) == [], "tables in docs/data-dictionary.md with no schema in claimback/schema.py"


def test_the_contract_tables_are_the_ones_the_dictionary_calls_so():
    marked = sorted(name for name, text in _sections().items() if "_Contract table._" in text.split("\n", 3)[2])
    assert marked == sorted(CONTRACT_TABLES)


def test_every_category_is_in_the_dictionary():
    """denials.category lists every category of the code registry (a new category is documented)."""
    from claimback.codes import CATEGORIES

    described = _described_columns(_sections()["denials"])["category"]
    missing = [c for c in CATEGORIES if not re.search(rf"\b{c}\b", described)]
    assert not missing, f"docs/data-dictionary.md, denials.category does not name {missing}"
