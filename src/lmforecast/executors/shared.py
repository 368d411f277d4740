"""Is a directory the driver's, as seen from another machine? (The store must be shared.)

Units on a cluster write their results into the store themselves, so the store must be on a
filesystem every node mounts (NFS, a cluster filesystem). A node where the same path is a
local, empty directory would silently keep its units' results to itself; a node without the
path would fail with a bare ``FileNotFoundError``. The driver therefore leaves a token file in
the directory (:func:`mark_shared`) and each worker checks it reads the same token before it
writes anything (:func:`check_shared`), failing with one line that says what is wrong.

>>> import tempfile
>>> root = tempfile.mkdtemp()
>>> token = mark_shared(root)
>>> token == mark_shared(root)  # the same token for as long as the directory lives
True
>>> check_shared(root, token)
>>> check_shared(root, "another")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lmforecast.executors.shared.NotSharedError: ... (its .lmforecast-shared token differs): ...
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

from lmforecast.core.errors import UserError

TOKEN_FILE = ".lmforecast-shared"


class NotSharedError(UserError):
    """A worker cannot see the driver's directory (not a shared filesystem)."""


def mark_shared(directory: str | os.PathLike[str]) -> str:
    """The directory's token, written first if absent (atomically: concurrent drivers agree)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    path = root / TOKEN_FILE
    if not path.is_file():
        tmp = root / f".{TOKEN_FILE}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(uuid.uuid4().hex)
        try:
            os.link(tmp, path)  # fails if another process won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def check_shared(directory: str | os.PathLike[str], token: str) -> None:
    """Raise :class:`NotSharedError` unless ``directory`` here holds the driver's ``token``."""
    path = Path(directory) / TOKEN_FILE
    where = f"directory {directory} on node {socket.gethostname()}"
    if not Path(directory).is_dir():
        found = "does not exist"
    elif not path.is_file():
        found = f"has no {TOKEN_FILE} token"
    elif path.read_text().strip() != token:
        found = f"its {TOKEN_FILE} token differs"
    else:
        return
    raise NotSharedError(
        f"{where} is not the driver's ({found}): put it on a filesystem every node mounts "
        "(NFS) and pass that path"
    )
