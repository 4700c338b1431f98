"""Anju (安居台账): ledgers for resettlement community offices."""

__version__ = "0.1.0"
