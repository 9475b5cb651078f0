"""Routing: every denial's next step and its deadline, ordered by value (the work queue)."""
