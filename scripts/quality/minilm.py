"""The meaning probe's encoder: memoryd's own (``memoryd/extract/offline/encoder.py``), where
the probe's copy moved when the model went into the product (round 9, docs/quality.md)."""

from __future__ import annotations

from memoryd.extract.offline.encoder import MAX_TOKENS, MiniLM, ModelMissing, model_dir

__all__ = ["MAX_TOKENS", "MiniLM", "ModelMissing", "model_dir"]
