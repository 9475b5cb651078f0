"""Packets a provider sends to a payer, as PDFs: the Claim Trend Identification form (one
example claim + description for 10+ claims with the same denial codes, with a CSV of every
claim), and pre-filled Level I Request for Reconsideration / Level II Claim Dispute packets.
"""
from claimback.forms.provider import ProviderProfile
from claimback.forms.reconsideration import (
    attachments,
    draft_reason,
    load_wording,
    write_reconsideration_packet,
    write_reconsideration_packets,
)
from claimback.forms.trend_packet import write_packets, write_trend_packet

__all__ = [
    "ProviderProfile",
    "attachments",
    "draft_reason",
    "load_wording",
    "write_packets",
    "write_reconsideration_packet",
    "write_reconsideration_packets",
    "write_trend_packet",
]
