"""Fixtures for the packet tests: a planted trend, a provider, and PDF → text/PNG helpers."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pypdfium2 as pdfium
import pytest

from claimback.forms import ProviderProfile
from claimback.trends import find_clusters
from tests.test_trends import AS_OF, background, frame, planted


@pytest.fixture
def provider() -> ProviderProfile:
    return ProviderProfile(name="Evergreen Physical Therapy", npi="1999999984", tin="91-1234567",
                           contact_name="Dana Lee", phone="206-555-0100",
                           email="billing@example.org", address="100 Main St, Seattle WA 98101")


@pytest.fixture
def trend_case() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(denials, clusters, members): 23 planted CO-197/N54 claims at one payer plus background."""
    denials = frame(planted(23) + background())
    clusters, members = find_clusters(denials, AS_OF)
    return denials, clusters, members


def pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def render_png(path: Path, page: int = 0) -> Path:
    """First page as a PNG beside the PDF (what an analyst would look at)."""
    doc = pdfium.PdfDocument(str(path))
    try:
        image = doc[page].render(scale=1).to_pil()
        png = path.with_suffix(f".p{page}.png")
        image.save(png)
        return png
    finally:
        doc.close()
