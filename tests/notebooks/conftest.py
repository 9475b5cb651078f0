"""The notebook runs use the same session demo warehouse as the browser test (built once)."""
from __future__ import annotations

import pytest

from tests.ui.demo_warehouse import DemoWarehouse, demo_warehouse


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> DemoWarehouse:
    return demo_warehouse(tmp_path_factory.getbasetemp())
