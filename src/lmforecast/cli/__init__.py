"""Command-line interface: ``lmforecast <command>``. Each command lives in its own module."""

from __future__ import annotations

import sys

# Command modules register themselves on `app` when imported.
from lmforecast.cli import demo as _demo  # noqa: F401
from lmforecast.cli import experiment as _experiment  # noqa: F401
from lmforecast.cli import score as _score  # noqa: F401
from lmforecast.cli import store as _store  # noqa: F401
from lmforecast.cli import testbed as _testbed  # noqa: F401
from lmforecast.cli import truth as _truth  # noqa: F401
from lmforecast.cli.app import app, err_console
from lmforecast.core.errors import UserError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app; a user error is one line on stderr and exit code 2."""
    import click

    try:
        code = app(standalone_mode=False)
    except UserError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; everything already stored is kept")
        sys.exit(130)
    except click.exceptions.ClickException as e:  # usage errors: click's own one-line message
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
