"""The mixin every contract class shares: both modes, and the asyncio marker."""

from __future__ import annotations

import pytest

from durastate.conformance.harness import Api


class BothModes:
    """Runs each test twice: through the sync API and through the async API."""

    pytestmark = [pytest.mark.asyncio]

    @pytest.fixture(params=["sync", "async"])
    def api(self, request: pytest.FixtureRequest) -> Api:
        return Api(request.param)
