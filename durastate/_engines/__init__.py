"""Per-engine plumbing shared by checkpointers, stores and caches."""
