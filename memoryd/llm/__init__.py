"""What every model call shares: the streaming HTTP client with retries and the Codex CLI runner."""
