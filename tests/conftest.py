"""Shared fixtures: where the real sample corpus lives, and a skip when it does not."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CLAIMBACK_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "x12-samples"

needs_corpus = pytest.mark.skipif(
    not (SAMPLES / "835").is_dir(),
    reason=f"real X12 sample corpus not found at {SAMPLES} (it sits beside the repo in the "
    "developers' workspace; set CLAIMBACK_SHARED to point elsewhere)",
)


def corpus_files(kind: str) -> list[Path]:
    """Sorted sample files of one kind ('835' or '837'); empty when the corpus is absent."""
    folder = SAMPLES / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".md")


@pytest.fixture
def samples() -> Path:
    if not (SAMPLES / "835").is_dir():
        pytest.skip(f"real X12 sample corpus not found at {SAMPLES}")
    return SAMPLES
