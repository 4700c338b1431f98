"""The mediation log tab and its dialogs."""
