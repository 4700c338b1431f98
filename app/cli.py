"""Command line: `anju` opens the GUI; sub-commands do batch work on the same database."""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from app import __version__
from app.commands import COMMAND_MODULES
from app.models.errors import KnownError


def _force_utf8_output() -> None:
    # A Windows console may default to a legacy code page that cannot print Chinese.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(encoding="utf-8", errors="replace")
            except (ValueError, OSError):
                pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anju",
        description="安居台账 Anju: 易地扶贫搬迁安置社区台账. Without a sub-command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"anju {__version__}")
    parser.add_argument("--db", type=Path, help="database file (default: the one in the user's data folder)")
    parser.add_argument("--demo", action="store_true", help="open the demo community (generated on first use)")
    parser.add_argument("--user", default=None, help="name recorded as the author of changes")
    parser.add_argument(
        "--smoke-test", action="store_true",
        help="open the window, print 'anju-shown-ms N' once it is shown, and quit (checks an installation)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"app.commands.{name}")
        module.register(sub)
    return parser


def add_db_argument(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """Every sub-command takes --db PATH (also accepted before the sub-command)."""
    parser.add_argument("--db", type=Path, required=required, default=argparse.SUPPRESS, help="database file")


def resolve_db(args: argparse.Namespace) -> Path:
    from app.paths import default_db_path, demo_db_path

    if getattr(args, "db", None):
        return Path(args.db)
    return demo_db_path() if getattr(args, "demo", False) else default_db_path()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the GUI's when no sub-command is given)."""
    _force_utf8_output()
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        from app.ui.app import run_gui

        return run_gui(args)
    try:
        return int(args.func(args) or 0)
    except KnownError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:
        # A damaged page or a read-only file met in the middle of a command: the clerk gets what
        # happened and the way back, not a traceback.
        from app.models.db import describe_sqlite_error

        print(f"错误：{describe_sqlite_error(exc, resolve_db(args))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断，未作改动。", file=sys.stderr)
        return 130
