"""The places tab: buildings and grids, visit entry, the due list."""
