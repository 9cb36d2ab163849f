"""Redis engine plumbing shared by the Redis checkpointers and cache: clients, keys, scripts."""
