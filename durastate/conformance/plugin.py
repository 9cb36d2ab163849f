"""Pytest plugin: the ``api`` fixture that runs every contract test in both modes.

The contract classes define ``api`` themselves, so subclassing one is enough; load this
plugin (``pytest_plugins = ["durastate.conformance.plugin"]``) to use ``api`` in your own
tests as well.
"""

from __future__ import annotations

import pytest

from durastate.conformance.harness import Api


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Api:
    """The mode a test runs in: a backend's sync methods (from a worker thread) or its a* ones."""
    return Api(request.param)
