"""Side-by-side benchmarks of durastate against the official LangGraph backends."""
