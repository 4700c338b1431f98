"""Printed forms: which records each form is for and what its pages show."""
