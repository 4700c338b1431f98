"""The overview tab (概览)."""
