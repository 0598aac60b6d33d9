"""The tests run an app with this add-on enabled (and forms, which it requires).

The fixtures (``testapp``, ``dbsession``, ``make_pyramidion_app``, ...) come
from Pyramidion's pytest plugin, ``pyramidion.testing``.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def pyramidion_addons() -> list[str]:
    return ["{{ cookiecutter.name }}"]
