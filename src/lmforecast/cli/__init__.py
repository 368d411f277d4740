"""Command-line interface: ``lmforecast <command>``. Each command lives in its own module."""

from __future__ import annotations

import sys

# Command modules register themselves on `app` when imported.
from lmforecast.cli import demo as _demo  # noqa: F401
from lmforecast.cli import experiment as _experiment  # noqa: F401
from lmforecast.cli import lm_eval as _lm_eval  # noqa: F401
from lmforecast.cli import plan as _plan  # noqa: F401
from lmforecast.cli import probe as _probe  # noqa: F401
from lmforecast.cli import report as _report  # noqa: F401
from lmforecast.cli import rude as _rude  # noqa: F401
from lmforecast.cli import score as _score  # noqa: F401
from lmforecast.cli import store as _store  # noqa: F401
from lmforecast.cli import testbed as _testbed  # noqa: F401
from lmforecast.cli import traces as _traces  # noqa: F401
from lmforecast.cli import truth as _truth  # noqa: F401
from lmforecast.cli.app import app, err_console
from lmforecast.core.errors import UserError

__all__ = ["app", "main"]


INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    """Entry point. A user error is one line on stderr, exit 2; a usage error is typer's usual
    usage block, exit 2; a file-system failure (full disk, read-only directory) is one line
    naming the path, exit 1; Ctrl-C says what is kept, exit 130. Only bugs show a traceback."""
    # typer 0.29 raises the exceptions of its own vendored copy of click, not the installed
    # click's: catching ``click.exceptions.*`` matches nothing.
    from rich.markup import escape
    from typer import rich_utils
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort

    try:
        code = app(args=argv, standalone_mode=False)
    except UserError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        code = INTERRUPTED
    except ClickException as e:
        rich_utils.rich_format_error(e)
        sys.exit(e.exit_code)
    except OSError as e:  # a full disk, a read-only directory: the environment, not a bug
        where = f"{e.filename}: " if e.filename else ""
        err_console.print(
            f"[bold red]error:[/] {where}{e.strerror or e}", highlight=False, soft_wrap=True
        )
        sys.exit(1)
    except Abort:
        code = INTERRUPTED
    if code == INTERRUPTED:  # typer turns Ctrl-C inside a command into exit code 130
        err_console.print("interrupted; everything already stored is kept: rerun to resume")
    if isinstance(code, int) and code:
        sys.exit(code)
