"""One run at a time writes the products: an advisory file lock on data/processed."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atlas.errors import AtlasError

log = logging.getLogger(__name__)


class RunLocked(AtlasError):
    """Another run holds the lock and did not release it in time."""


@contextmanager
def run_lock(processed_dir: Path, timeout_s: float = 3600.0, poll_s: float = 0.5) -> Iterator[Path]:
    """Hold ``processed_dir/.run.lock`` for the duration of a run.

    A second run started at the same moment waits for the first and then finds
    nothing left to do, instead of interleaving writes to the same products.
    The lock dies with its process, so a killed run never leaves it stuck.
    """
    processed_dir = Path(processed_dir)
    processed_dir.mkdir(parents=True, exist_ok=True)
    path = processed_dir / ".run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    waited = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RunLocked(f"another pipeline run holds {path}; try again when it has finished") from None
                if not waited:
                    log.info("another run is writing the products; waiting for it to finish")
                    waited = True
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
