"""Fixtures of the orchestrator's unit tests."""

from __future__ import annotations

import pytest

from tests.orchestration.support import Harness


@pytest.fixture
def harness():
    return Harness()
