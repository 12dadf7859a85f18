"""The pipe that feeds LOAD DATA LOCAL: exact bytes, no hang when nobody reads, errors kept."""

from __future__ import annotations

import threading

import pytest

from migration_assets.lib.copy.infile import infile


def test_the_reader_gets_every_byte_of_every_piece() -> None:
    pieces = [b"a\tb\n", b"", bytes(range(256)) * 9000, b"\\N\n"]
    with infile(pieces) as name:
        assert name.startswith("/dev/fd/") and "'" not in name
        with open(name, "rb") as f:
            assert f.read() == b"".join(pieces)


def test_nobody_reading_does_not_hang() -> None:
    """A statement that fails before the server asks for the file: the writer, blocked on a
    full pipe, ends when the read end closes."""
    done = threading.Event()

    def run() -> None:
        with pytest.raises(RuntimeError), infile([b"x" * (4 << 20)]):
            raise RuntimeError("the statement failed")
        done.set()

    t = threading.Thread(target=run)
    t.start()
    t.join(10)
    assert done.is_set()


def test_an_error_while_producing_pieces_is_raised_after_the_statement() -> None:
    def pieces():
        yield b"first\n"
        raise ValueError("source went away")

    with pytest.raises(ValueError, match="source went away"), infile(pieces()) as name, \
            open(name, "rb") as f:
        assert f.read() == b"first\n"  # the reader sees a short stream, then the error
