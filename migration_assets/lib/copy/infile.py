"""Feeds ``LOAD DATA LOCAL INFILE`` from memory: no row data is ever written to disk.

The driver reads the "file" the server asks for by opening its name; we name the read end of
a pipe (``/dev/fd/N``) and a thread writes the chunk's pieces into it. So customer rows never
sit in a temporary file a crash could leave behind (nor in ``$TMPDIR``, whose path would
otherwise have to be quoted into the SQL), and a chunk can be produced piece by piece: a row
larger than any chunk streams through without being held whole.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator

WRITE_PIECE = 1 << 20


class _Feeder(threading.Thread):
    def __init__(self, fd: int, pieces: Iterable[bytes]) -> None:
        super().__init__(name="dbmigrate-infile", daemon=True)
        self.fd, self.pieces = fd, pieces
        self.error: BaseException | None = None
        self.written = 0

    def run(self) -> None:
        try:
            with os.fdopen(self.fd, "wb", buffering=0) as pipe:
                for piece in self.pieces:
                    view = memoryview(piece)
                    while view:  # a write to a pipe may take less than it was given
                        n = pipe.write(view[:WRITE_PIECE]) or 0
                        self.written += n
                        view = view[n:]
        except BrokenPipeError:
            pass  # the reader stopped (the statement failed): its error is the one to report
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self.error = exc


@contextlib.contextmanager
def infile(pieces: Iterable[bytes]) -> Iterator[str]:
    """A file name for ``LOAD DATA LOCAL INFILE '<name>'`` whose content is ``pieces``.

    The name holds only digits and slashes, so it needs no quoting. An error raised while
    producing the pieces is raised here, after the statement, so the caller rolls back a load
    that saw a truncated stream.
    """
    read_fd, write_fd = os.pipe()
    feeder = _Feeder(write_fd, pieces)
    feeder.start()
    try:
        yield f"/dev/fd/{read_fd}"
    finally:
        os.close(read_fd)  # with no reader left, a blocked writer gets EPIPE and ends
        feeder.join()
    if feeder.error is not None:
        raise feeder.error
