"""Model backends: the stage-1 extractor (and, later, the consolidation agent) per config."""
