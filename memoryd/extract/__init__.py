"""Phase-1 extractors (one per backend): one rollout in, one memory (raw memory and summary)
out."""
