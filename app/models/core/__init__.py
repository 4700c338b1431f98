"""Shared data-layer foundations: the database and its write path, errors, rules for text and fields, accounts, access, audit, backup and repair."""
