"""Fixtures for the core's own tests; the kit itself is pyramidion.testing."""

from __future__ import annotations

from tests.distributions import Distributions, distributions

__all__ = ["Distributions", "distributions"]
