"""The documents the code cites are in the repository: every "domain-brief §N" has its section in
docs/domain-brief.md, and every docs/… path named in the library exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITING = [p for folder in ("claimback", "pipelines") for p in sorted((ROOT / folder).rglob("*"))
          if p.suffix in (".py", ".yaml", ".md", ".sql", ".csv") and p.is_file()]


def _cited(pattern: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in CITING:
        for match in re.finditer(pattern, path.read_text(errors="replace")):
            found.setdefault(match.group(1), []).append(str(path.relative_to(ROOT)))
    return found


def test_every_cited_section_of_the_domain_brief_exists():
    headings = set(re.findall(r"^#+ (\d+(?:\.\d+)?)[ .]", (ROOT / "docs" / "domain-brief.md").read_text(), re.M))
    cited = _cited(r"domain[- ]brief[^§\n]{0,3}§(\d+(?:\.\d+)?)")
    assert cited, "the pattern finds the citations"
    missing = {section: files for section, files in cited.items() if section not in headings}
    assert not missing, f"sections cited but not in docs/domain-brief.md: {missing}"


def test_every_cited_doc_exists():
    cited = _cited(r"\b(docs/[\w./-]+\.md)")
    missing = {doc: files for doc, files in cited.items() if not (ROOT / doc).is_file()}
    assert not missing, f"documents cited but not in the repository: {missing}"


def test_no_citation_points_outside_the_repository():
    outside = _cited(r"((?:\.\./)?shared/research/[\w.-]+|\bDESIGN\.md)")
    assert not outside, f"cite the copies under docs/ instead: {outside}"
