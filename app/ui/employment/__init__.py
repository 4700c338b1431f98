"""The employment and training tab and its dialogs."""
