"""What the tests build: small offices, ledgers, sync pairs, window contexts, a clerk's typing.

Test files import these from here, never from one another:

- ``excel``: the office that exports and re-imports its workbooks, county ledgers written by hand
- ``forms``: a 45-household community for the printed forms
- ``labour``: a community whose labour figures were counted by hand
- ``mediation``: three households for the mediation log
- ``places``: a building of rooms, households and visits written row by row
- ``registry``: two buildings and households made through the registry's functions
- ``sync``: an office for the USB-stick tests, snapshots, exchanges, forged bundles
- ``ui``: a window context on a database file, typing as a clerk types
- ``database``: copying a database file with its keys
"""
