"""The household registry (一户一档): households, residents and the registry search."""
