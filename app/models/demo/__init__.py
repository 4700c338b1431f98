"""The demo community."""
