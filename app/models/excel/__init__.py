"""Excel in and out: the ledgers' columns, export, and the import of every ledger."""
