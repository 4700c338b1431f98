"""Data layer: pure Python over SQLite, no Qt."""
