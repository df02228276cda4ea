"""Crash-safe writes: every product is written beside its place and moved in with one rename.

A reader (or a run started after a crash) sees either the previous file or the new one,
never half a file. Temporary names start with ``.`` and contain ``.tmp-`` so that a later
run (holding the run lock) can sweep what a killed run left behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from atlas.wording import plural

log = logging.getLogger(__name__)

TMP_MARK = ".tmp-"
# prefixes of temporary names the pipeline leaves only when killed: files and directories
TEMP_PREFIXES = (".mosaic_", ".tables_", ".stac_", ".building-")  # .building-: a release (atlas.products.release)


def temp_path(target: Path) -> Path:
    """A unique hidden name in the target's folder (same file system, so the final rename is atomic)."""
    target = Path(target)
    return target.with_name(f".{target.stem}{TMP_MARK}{uuid.uuid4().hex[:8]}{target.suffix}")


def _fsync_dir(folder: Path) -> None:
    # the rename itself is durable only once the directory entry is flushed
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(tmp: Path, target: Path) -> Path:
    """Move a finished temporary file onto its final name (atomic on POSIX), after flushing it to disk."""
    tmp, target = Path(tmp), Path(target)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    return target


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on failure it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    try:
        yield tmp
        publish(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(target: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` and move the result onto ``target``."""
    with atomic_path(target) as tmp:
        write(tmp)
    return Path(target)


def write_text_atomic(target: Path, text: str) -> Path:
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))


def copy_atomic(source: Path, target: Path) -> Path:
    return write_atomic(target, lambda p: shutil.copyfile(source, p))


def is_temporary(path: Path) -> bool:
    name = Path(path).name
    return name.startswith(".") and (TMP_MARK in name or name.startswith(TEMP_PREFIXES) or name.endswith(".tmp"))


def sweep_temporaries(folder: Path) -> list[Path]:
    """Remove what a killed run left in ``folder`` (temporary files and work directories); call under the run lock."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        if not is_temporary(path):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.warning("removed %s left by an interrupted run in %s", plural(len(removed), "temporary file"), folder)
    return removed
