"""The one resource every asset uses: where the inbox and warehouse are, and the run's as-of date."""

import os
from datetime import date
from pathlib import Path

import dagster as dg

from claimback.stages import Settings

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


class ClaimbackResource(dg.ConfigurableResource):
    """Folders and run settings. `as_of` (YYYY-MM-DD, empty = today) fixes the date deadlines
    and lookback windows are measured from, so a rerun for a past night gives that night's answer."""

    inbox: str
    warehouse: str
    as_of: str = ""
    payer_rules: str = ""
    provider_profile: str = ""
    deidentify: bool = False
    batch_files: int = 250  # new files per parse step: the unit the executor runs in parallel
    recoupment_wait_days: int = 30  # a bare reversal with no replacement this long is a recoupment

    def settings(self) -> Settings:
        return Settings(
            inbox=Path(self.inbox),
            warehouse=Path(self.warehouse),
            as_of=date.fromisoformat(self.as_of) if self.as_of else date.today(),
            payer_rules=Path(self.payer_rules) if self.payer_rules else None,
            provider_profile=Path(self.provider_profile) if self.provider_profile else None,
            deidentify=self.deidentify,
            recoupment_wait_days=self.recoupment_wait_days,
        )


def from_environment() -> ClaimbackResource:
    """The settings of UI, sensor and schedule runs, from the environment (README, "Settings")."""
    return ClaimbackResource(
        inbox=os.environ.get("CLAIMBACK_INBOX", "data/inbox"),
        warehouse=os.environ.get("CLAIMBACK_WAREHOUSE", "data/warehouse"),
        as_of=os.environ.get("CLAIMBACK_AS_OF", ""),
        payer_rules=os.environ.get("CLAIMBACK_PAYER_RULES", ""),
        provider_profile=os.environ.get("CLAIMBACK_PROVIDER_PROFILE", ""),
        deidentify=os.environ.get("CLAIMBACK_DEIDENTIFY", "") not in ("", "0", "false", "no"),
        batch_files=int(os.environ.get("CLAIMBACK_BATCH_FILES", "250")),
    )
