"""The workloads, each run identically on both implementations of an engine."""
