"""Phase-2 consolidation agents: they rewrite MEMORY.md, memory_summary.md and skills/."""
