"""The upload form without JavaScript: one multipart POST, parsed while it streams, with the intake limits held.

A browser with JavaScript off posts the delivery page's form as ``multipart/form-data``. Starlette's
``request.form()`` would first spool every file to a temporary file whatever its size, so the body is parsed
here with python-multipart's push parser as the bytes arrive:

- the form's CSRF field comes before its files (the page puts it first); a file part before a valid token is
  refused before any byte of it is written;
- each file's name goes through ``names.safe_name`` when its part header arrives; a refused name, or a name
  already in the delivery, skips that file (its bytes are read and dropped) and says why;
- ``max_file_bytes``, ``max_delivery_bytes`` and ``max_delivery_files`` are checked before each block is
  written: past a limit the request stops, the file being written is removed, and nothing past the limit
  reaches the disk;
- a file is written under ``<delivery>/form/`` and moved into ``<delivery>/files/`` only once complete, so a
  cut connection leaves no partial file among the staged ones (nor, a fortiori, in the inbox).

Files completed before a refusal stay staged: the page lists them and what was refused.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from anyio import to_thread
from python_multipart.multipart import MultipartParser, parse_options_header

from atlas.config import PortalSettings
from atlas.portal.i18n import _
from atlas.portal.names import BadName, safe_name
from atlas.portal.uploads import Staging, UploadRefused

CSRF_FIELD = "csrf"
FILE_FIELD = "files"


@dataclass
class FormResult:
    """What one form post did: the files staged, and a reason for each file not taken."""

    staged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class FormReceiver:
    """python-multipart callbacks that stage the form's files; ``register(name, size, sha256)`` records one."""

    def __init__(self, staging: Staging, did: str, csrf: str, settings: PortalSettings, taken: dict[str, int],
                 register: Callable[[str, int, str], None]):
        self.staging, self.did, self.csrf, self.settings = staging, did, csrf, settings
        self.taken = dict(taken)  # casefolded name -> size, of the files already in the delivery
        self.register = register
        self.result = FormResult()
        self.csrf_ok = False
        self._headers: dict[bytes, bytes] = {}
        self._field = self._value = b""
        self._part: str | None = None  # "csrf", "file", "skip" or "other"
        self._name = ""
        self._fh = None
        self._tmp: Path | None = None
        self._size = 0
        self._digest = None
        self._csrf_value = bytearray()

    # --- the parser's callbacks ---------------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self._headers, self._part = {}, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        _kind, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        field_name = params.get(b"name", b"")
        if field_name == CSRF_FIELD.encode():
            self._part, self._csrf_value = "csrf", bytearray()
        elif field_name == FILE_FIELD.encode() and b"filename" in params:
            self._begin_file(params[b"filename"])
        else:
            self._part = "other"

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "csrf":
            self._csrf_value += data[start:end]
            if len(self._csrf_value) > 200:
                raise UploadRefused(_("the form's CSRF token is too long: reload the page and try again"), 403)
        elif self._part == "file":
            self._write(data[start:end])

    def on_part_end(self) -> None:
        if self._part == "csrf":
            self.csrf_ok = secrets.compare_digest(bytes(self._csrf_value), self.csrf.encode())
            if not self.csrf_ok:
                raise UploadRefused(_("missing or wrong CSRF token: reload the page and try again"), 403)
        elif self._part == "file":
            self._finish_file()
        self._part = None

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
            "on_part_data", "on_part_end")}

    # --- files --------------------------------------------------------------------------------------------
    def _begin_file(self, raw_name: bytes) -> None:
        if not self.csrf_ok:
            raise UploadRefused(_("missing or wrong CSRF token: reload the page and try again"), 403)
        if not raw_name:  # the form was sent with no file chosen
            self._part = "skip"
            return
        try:
            name = safe_name(raw_name.decode("utf-8"))
        except UnicodeDecodeError:
            return self._skip(repr(raw_name[:80])[2:-1], _("the name is not valid UTF-8: rename the file"))
        except BadName as exc:
            return self._skip(raw_name.decode("utf-8")[:80], str(exc))
        if name.casefold() in self.taken:
            return self._skip(name, _("a file of that name is already in this delivery; remove it first to "
                                      "replace it"))
        if len(self.taken) >= self.settings.max_delivery_files:
            raise UploadRefused(_("a delivery holds at most %(n)d files: %(name)s and the files after it were "
                                  "not taken", n=self.settings.max_delivery_files, name=name), 413)
        folder = self.staging.root / self.did / "form"
        folder.mkdir(parents=True, exist_ok=True)
        self._tmp = folder / f"{secrets.token_hex(8)}.part"
        self._fh = open(self._tmp, "wb")  # noqa: SIM115 - closed in _finish_file or abort
        self._part, self._name, self._size, self._digest = "file", name, 0, hashlib.sha256()

    def _skip(self, name: str, reason: str) -> None:
        self._part = "skip"
        self.result.refused.append(f"{name}: {reason}")

    def _write(self, block: bytes) -> None:
        size = self._size + len(block)
        if size > self.settings.max_file_bytes:
            raise UploadRefused(_("%(name)s is larger than %(limit)d bytes, the most one file may have: upload "
                                  "stopped at the limit, nothing of it was kept",
                                  name=self._name, limit=self.settings.max_file_bytes), 413)
        if sum(self.taken.values()) + size > self.settings.max_delivery_bytes:
            raise UploadRefused(_("with %(name)s the delivery would exceed %(limit)d bytes in all: upload "
                                  "stopped at the limit, nothing of %(name)s was kept",
                                  name=self._name, limit=self.settings.max_delivery_bytes), 413)
        self._fh.write(block)
        self._digest.update(block)
        self._size = size

    def _finish_file(self) -> None:
        self._fh.close()
        self._fh = None
        target = self.staging.path(self.did, self._name)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.register(self._name, self._size, self._digest.hexdigest())  # the database refuses a duplicate name
        os.rename(self._tmp, target)
        self._tmp = None
        self.taken[self._name.casefold()] = self._size
        self.result.staged.append(self._name)

    def abort(self) -> None:
        """Remove the file being written (a refusal or a cut connection): no partial file is kept."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def boundary_of(content_type: str) -> bytes:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise UploadRefused(_("the upload form must be sent as multipart/form-data"), 400)
    return params[b"boundary"]


async def receive_form(receiver: FormReceiver, content_type: str, chunks: AsyncIterator[bytes]) -> FormResult:
    """Feed the body to the parser as it arrives; the file writes run in a worker thread, off the event loop."""
    parser = MultipartParser(boundary_of(content_type), receiver.callbacks())
    try:
        async for chunk in chunks:
            if chunk:
                await to_thread.run_sync(parser.write, chunk)
        await to_thread.run_sync(parser.finalize)
    except BaseException:
        receiver.abort()
        raise
    if not receiver.csrf_ok:
        raise UploadRefused(_("missing or wrong CSRF token: reload the page and try again"), 403)
    return receiver.result
