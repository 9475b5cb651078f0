"""Reconsiderations: the hand-kept log of Level I and Level II requests read from the inbox."""
