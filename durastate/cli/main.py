"""The `durastate` command group, its exit statuses and its error reporting."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

import click

from durastate import __version__
from durastate.cli.cmd_archive import export_command, import_command
from durastate.cli.cmd_copy import copy
from durastate.cli.cmd_demo import demo
from durastate.cli.cmd_maintain import prune, sweep
from durastate.cli.cmd_setup import setup
from durastate.cli.cmd_status import status
from durastate.connect import QUERY_PARAMETERS, redact, url_secrets
from durastate.errors import DurastateError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

URL_ENV_VARS = ("DURASTATE_URL", "DURASTATE_DEMO_URL")

_PARAMS = "\n".join(
    f"  {engine:<9}{name}: {meaning}"
    for engine, rows in QUERY_PARAMETERS.items()
    for name, meaning in rows
)

EPILOG = f"""\b
Backend URLs:
  memory://                          process memory (nothing persists)
  sqlite:///app.db                   SQLite file (sqlite:////abs/path.db, sqlite:///:memory:)
  postgresql://user:pw@host:5432/db  PostgreSQL (also postgres://)
  redis://:pw@host:6379/0            Redis / Valkey (rediss:// for TLS,
                                     redis+cluster:// or ?cluster=true for a cluster)
  langgraph+sqlite:///old.db         the official LangGraph backends' databases
  langgraph+postgresql://...         (also langgraph+redis://), as the SOURCE of
                                     copy and export (migration)
Passwords are never printed: they show as ***.

\b
URL query parameters:
{_PARAMS}

\b
Exit status:
  0    success
  1    failure (a backend is unreachable or refused the operation, a copy found
       a destination holding different data, a verification found differences,
       a demo phase cannot run in the thread's current state, ...)
  2    usage error (unknown command or option, malformed URL, unknown scheme)
  130  interrupted (Ctrl-C)
"""


class _Flags:
    debug = False


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    _Flags.debug = _Flags.debug or value
    return value


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "-V", "--version", prog_name="durastate", message="%(prog)s %(version)s"
)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="On failure, also print the traceback (passwords masked).",
)
def cli() -> None:
    """Persistence for LangGraph: checkpointers, stores and caches on memory, SQLite,
    PostgreSQL and Redis."""


cli.add_command(copy)
cli.add_command(export_command)
cli.add_command(import_command)
cli.add_command(demo)
cli.add_command(setup)
cli.add_command(status)
cli.add_command(prune)
cli.add_command(sweep)


def _secrets(args: Sequence[str]) -> list[str]:
    """Passwords in the URLs this invocation was given, to mask in any error output."""
    texts = [a for a in args if "://" in a or "password=" in a.lower()]
    texts += [os.environ[name] for name in URL_ENV_VARS if os.environ.get(name)]
    return [secret for text in texts for secret in url_secrets(text)]


def run(args: Sequence[str] | None = None) -> int:
    """Run the command line ``args`` (default ``sys.argv[1:]``); returns the exit status."""
    _Flags.debug = False  # each invocation's own --debug, not an earlier call's
    # The pool logs every failed connection attempt; the command reports the final error.
    pool_log = logging.getLogger("psycopg.pool")
    level = pool_log.level
    pool_log.setLevel(logging.ERROR)
    try:
        return _run(list(sys.argv[1:] if args is None else args))
    finally:
        pool_log.setLevel(level)


def _run(argv: list[str]) -> int:
    try:
        result = cli.main(args=argv, prog_name="durastate", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        return EXIT_FAILURE
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python's final
        # flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:
        secrets = _secrets(argv)
        if _Flags.debug:
            click.echo(redact(traceback.format_exc(), secrets), err=True, nl=False)
        what = str(exc) if isinstance(exc, DurastateError) else f"{type(exc).__name__}: {exc}"
        click.echo(redact(f"Error: {what}", secrets), err=True)
        return EXIT_FAILURE
    return result if isinstance(result, int) else EXIT_OK


def main() -> NoReturn:
    """The `durastate` console script."""
    sys.exit(run())
