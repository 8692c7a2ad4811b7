"""What the API puts in an orchestrator's inbox, as tests expect to find it there."""

WAKE = {"type": "envelopes", "envelopes": [{"kind": "wake", "executions": []}]}
"""A wake after a change that queued no execution (a workspace renamed, paused, a pool)."""
