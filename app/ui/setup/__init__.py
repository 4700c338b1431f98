"""Setting up the office: the set-up wizard and the office settings."""
