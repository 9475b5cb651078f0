"""Where a packet goes: the payer's documented channel for trend reports, Level I and Level II, and
how to chase the payer (`status`: a claim with no 835, a decision overdue).

Read from payer_channels.yaml beside this module, keyed by the payer rule name the routing
rules matched (so one payer is recognised the same way for its deadlines and its address).
Every channel carries the source that documents it; it is printed on the packet.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CHANNELS_FILE = Path(__file__).with_name("payer_channels.yaml")
KINDS = ("trend", "level1", "level2", "status")
TREND_FORMS = ("coordinated_care",)


@dataclass(frozen=True)
class Channel:
    send_to: str
    source: str


@cache
def _channels() -> dict:
    data = yaml.safe_load(CHANNELS_FILE.read_text())
    for name, entry in (data.get("payers") or {}).items():
        unknown = set(entry) - {"trend_form", *KINDS}
        if unknown or entry.get("trend_form") not in (None, *TREND_FORMS):
            raise ValueError(f"{CHANNELS_FILE.name}: payer {name}: unknown keys or trend_form: {sorted(unknown)}")
    return data


def channel(payer_rule: str | None, kind: str) -> Channel:
    """How to send a `kind` packet ("trend", "level1", "level2") to the payer of `payer_rule`, or
    how to ask it about a claim ("status")."""
    data = _channels()
    entry = (data.get("payers") or {}).get(payer_rule or "", {})
    chosen = entry.get(kind) or data["default"][kind]
    return Channel(" ".join(chosen["send_to"].split()), chosen["source"])


def trend_form(payer_rule: str | None) -> str | None:
    """The payer's own trend form ("coordinated_care"), or None: a plain payer trend letter."""
    return ((_channels().get("payers") or {}).get(payer_rule or "") or {}).get("trend_form")
