"""What memoryd writes into the memory root besides the agent's files: artifacts, extensions,
the legacy import and the Codex link."""
