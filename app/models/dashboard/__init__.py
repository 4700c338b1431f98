"""The office's headline figures (概览)."""
