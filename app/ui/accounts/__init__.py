"""Who is at the keyboard: login, the session and lock, accounts, the audit viewer."""
