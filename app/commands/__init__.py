"""Sub-commands of the `anju` command line; each module has ``register(subparsers)``.

A module's parser sets ``func=run`` where ``run(args) -> int`` is the exit code.
"""

# Order is the order of `anju --help`.
COMMAND_MODULES = [
    "init",
    "demo",
    "stats",
    "check",
    "backup",
    "restore",
    "export_excel",
    "import_excel",
    "print_forms",
    "sync_export",
    "sync_import",
    "rollup",
    "audit",
    "user",
    "recover",
]
