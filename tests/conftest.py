"""Shared test setup: the real-server fixtures; readable failures inside the contract."""

import pytest

# The contract's own asserts show their values only when pytest rewrites them.
pytest.register_assert_rewrite("durastate.conformance")

pytest_plugins = ["servers"]
