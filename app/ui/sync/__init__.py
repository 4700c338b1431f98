"""Sync with a USB stick and the conflict review."""
