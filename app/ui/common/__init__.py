"""What every window shares: context, data-changed events, the op runner, table models, crash handling, text size, help."""
