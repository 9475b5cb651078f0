"""The one resource every asset uses: where the inbox and warehouse are, and the run's as-of date."""

from dataclasses import fields

import dagster as dg

from claimback.settings import Settings, config_from_environment, defaults


_DEFAULTS = defaults()


class ClaimbackResource(dg.ConfigurableResource):
    """Folders and run settings (claimback.settings.Settings, as strings: empty = not given).
    `as_of` (YYYY-MM-DD, empty = today) fixes the date deadlines and lookback windows are measured
    from, so a rerun for a past night gives that night's answer."""

    inbox: str
    warehouse: str
    as_of: str = ""
    lake_location: str = ""  # empty: WAREHOUSE/lake; or s3://bucket/prefix
    payer_rules: str = ""
    provider_profile: str = ""
    deidentify: bool = _DEFAULTS["deidentify"]
    from_scratch: bool = _DEFAULTS["from_scratch"]  # forget the kept bookkeeping: recompute everything
    batch_files: int = _DEFAULTS["batch_files"]  # new files per parse step: the unit the executor runs in parallel
    recoupment_wait_days: int = _DEFAULTS["recoupment_wait_days"]
    fee_schedule: str = ""
    underpayment_min_dollars: float = _DEFAULTS["underpayment_min_dollars"]
    underpayment_min_share: float = _DEFAULTS["underpayment_min_share"]
    modal_min_observations: int = _DEFAULTS["modal_min_observations"]

    def settings(self) -> Settings:
        return Settings.from_config({f.name: getattr(self, f.name) for f in fields(Settings)})


def from_environment() -> ClaimbackResource:
    """The settings of UI, sensor and schedule runs, from the environment (README, "Settings")."""
    return ClaimbackResource(**config_from_environment())
