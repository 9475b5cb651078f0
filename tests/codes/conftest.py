"""Every codes test sees only the packaged lists unless it writes an override itself."""
from __future__ import annotations

import pytest

from claimback import codes


@pytest.fixture(autouse=True)
def isolated_override_dir(tmp_path, monkeypatch):
    folder = tmp_path / "codes-override"
    monkeypatch.setenv("CLAIMBACK_CODES_DIR", str(folder))
    codes.clear_cache()
    yield folder
    codes.clear_cache()
