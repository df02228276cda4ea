"""Staged uploads: files stream into a staging area outside the inbox and reach it in one rename.

Resumable in our own small scheme (tus-like, docs/OPERATIONS.md): the browser declares a file's name and size,
then sends it in pieces with ``PATCH`` and an ``Upload-Offset`` header. The offset the server believes is the
staged file's size on disk, so after a lost connection, or a killed portal, the browser asks for it and sends
only the rest. Limits are enforced while bytes arrive: a piece that would take a file past its declared size
(itself under ``max_file_bytes``) is cut there and refused.

"Send" fsyncs every file, makes it read-only and renames the delivery's folder to
``data/raw/<ISO3>/<today>`` (``<today>_2``, ``_3``... for later deliveries of the same day). One rename of a
folder is atomic on one file system: the ingestion sees the whole delivery or nothing.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

from anyio import to_thread

from atlas.atomic import _fsync_dir
from atlas.errors import AtlasError
from atlas.portal.i18n import _

WRITE_BLOCK = 1 << 20


class UploadRefused(AtlasError):
    """An upload the portal does not take; ``status`` is the HTTP status that says so."""

    def __init__(self, message: str, status: int = 400, offset: int | None = None):
        super().__init__(message)
        self.status = status
        self.offset = offset


class Staging:
    """The staging folder: ``<root>/<delivery id>/files/<name>``."""

    def __init__(self, root: Path, raw_dir: Path):
        self.root = Path(root)
        self.raw_dir = Path(raw_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        if os.stat(self.root).st_dev != os.stat(self.raw_dir).st_dev:
            raise AtlasError(f"the portal's staging folder {self.root} is not on the file system of the inbox "
                             f"{self.raw_dir}: a delivery could not be moved in with one atomic rename; keep "
                             "data/processed and data/raw on one file system")

    def files_dir(self, did: str) -> Path:
        return self.root / did / "files"

    def path(self, did: str, name: str) -> Path:
        return self.files_dir(did) / name

    def offset(self, did: str, name: str) -> int:
        """How many bytes of the file are staged: the truth is the file on disk, whatever the database says."""
        try:
            return self.path(did, name).stat().st_size
        except FileNotFoundError:
            return 0

    async def append(self, did: str, name: str, size: int, offset: int, chunks: AsyncIterator[bytes]) -> int:
        """Write the bytes of ``chunks`` at ``offset``; returns the new offset. Refuses bytes past ``size``."""
        path = self.path(did, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        have = self.offset(did, name)
        if offset != have:
            raise UploadRefused(_("the portal has %(have)d bytes of %(name)s, not %(offset)d: resume from %(have)d",
                                  have=have, name=name, offset=offset),
                                status=409, offset=have)
        buffer = bytearray()  # written in blocks of WRITE_BLOCK by a worker thread: the event loop never waits on disk
        with open(path, "ab") as fh:
            try:
                async for chunk in chunks:
                    room = size - have - len(buffer)
                    if len(chunk) > room:  # the limit holds while streaming: the excess is never written
                        buffer += chunk[:room]
                        raise UploadRefused(_("%(name)s is larger than the %(size)d bytes declared for it: upload "
                                              "stopped at the limit", name=name, size=size), status=413, offset=size)
                    buffer += chunk
                    if len(buffer) >= WRITE_BLOCK:
                        await to_thread.run_sync(fh.write, bytes(buffer))
                        have += len(buffer)
                        buffer.clear()
            finally:  # what arrived before a cut or a refusal is kept: the upload resumes after it
                if buffer:
                    await to_thread.run_sync(fh.write, bytes(buffer))
                    have += len(buffer)
        return have

    def remove_file(self, did: str, name: str) -> None:
        self.path(did, name).unlink(missing_ok=True)

    def discard(self, did: str) -> None:
        """Remove a delivery's staged files (abandoned, or emptied by the country)."""
        shutil.rmtree(self.root / did, ignore_errors=True)

    @contextmanager
    def _send_lock(self) -> Iterator[None]:
        # several portal processes (or threads) may send for one country on one day: one picks a name at a time
        fd = os.open(self.root / ".send.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def send(self, did: str, country: str, today: dt.date | None = None) -> Path:
        """Move the staged files into ``data/raw/<country>/<today>[_n]`` in one rename; returns that folder."""
        source = self.files_dir(did)
        if not source.is_dir() or not any(source.iterdir()):
            raise UploadRefused(_("the delivery holds no file: upload at least one before sending"), status=409)
        for path in source.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            path.chmod(0o444)  # the inbox's files are never changed after they arrive
        _fsync_dir(source)
        day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
        country_dir = self.raw_dir / country
        country_dir.mkdir(parents=True, exist_ok=True)
        with self._send_lock():
            taken = {p.name for p in country_dir.iterdir()}
            name, n = day, 1
            while name in taken:
                n += 1
                name = f"{day}_{n}"
            target = country_dir / name
            os.rename(source, target)  # never replaces: the name was free under the lock
        _fsync_dir(country_dir)
        shutil.rmtree(self.root / did, ignore_errors=True)  # what is left is only a form post's leftovers
        return target

    def clear_partial(self) -> int:
        """Remove the partial files of form posts cut by a stop of the portal (at start: no post is going)."""
        leftovers = [p for p in self.root.glob("*/form") if p.is_dir()]
        for folder in leftovers:
            shutil.rmtree(folder, ignore_errors=True)
        return len(leftovers)

    def stale(self, known: set[str]) -> list[Path]:
        """Staging folders no delivery of the database knows (left by a crash between steps)."""
        return [p for p in self.root.iterdir() if p.is_dir() and p.name not in known]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
