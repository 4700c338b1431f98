"""Printing: the print menu, the forms laid out on A4 pages, list output."""
