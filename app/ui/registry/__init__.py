"""The registry tab and the household and person dialogs."""
