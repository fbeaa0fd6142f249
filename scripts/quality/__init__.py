"""The quality benchmark's corpora, rollout renderer and scorer (see scripts/bench_quality.py)."""
