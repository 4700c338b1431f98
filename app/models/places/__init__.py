"""Places and visits: buildings, grids and rooms, picture signs, the visit rhythm, visits, setting up an office."""
