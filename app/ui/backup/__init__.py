"""Automatic backups, the reminder to keep a copy away from the PC, and restoring a backup."""
