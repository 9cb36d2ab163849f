"""Shared test setup: the real-server fixtures."""

pytest_plugins = ["servers"]
