"""Anju (安居台账): ledgers for resettlement community offices."""

from app.version import VERSION as __version__

__all__ = ["__version__"]
