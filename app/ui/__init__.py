"""Windows, tabs, dialogs and the Qt item models that adapt the data layer."""
