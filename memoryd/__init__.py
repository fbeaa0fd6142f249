"""memoryd: turns Codex CLI rollouts into durable, consolidated memories."""

__version__ = "0.1.0.dev0"
