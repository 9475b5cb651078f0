"""Fixtures for the UI tests: the session's demo warehouse (also used by tests/notebooks)."""
from __future__ import annotations

import pytest

from tests.ui.demo_warehouse import DemoWarehouse, demo_warehouse


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> DemoWarehouse:
    return demo_warehouse(tmp_path_factory.getbasetemp())
