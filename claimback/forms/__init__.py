"""Packets a provider sends to a payer, as PDFs: the payer trend packet (one example claim +
description for 10+ of one practice's claims with the same denial codes, with a CSV of every
claim; the payer's own Claim Trend Identification form where it has one), and pre-filled
Level I Request for Reconsideration / Level II Claim Dispute packets, each naming the claim's
own billing provider.
"""
from claimback.forms.provider import ProviderDirectory, ProviderProfile, load_profiles
from claimback.forms.reconsideration import (
    attachments,
    draft_reason,
    load_wording,
    write_reconsideration_packet,
    write_reconsideration_packets,
)
from claimback.forms.trend_packet import write_packets, write_trend_packet

__all__ = [
    "ProviderDirectory",
    "ProviderProfile",
    "load_profiles",
    "attachments",
    "draft_reason",
    "load_wording",
    "write_packets",
    "write_reconsideration_packet",
    "write_reconsideration_packets",
    "write_trend_packet",
]
