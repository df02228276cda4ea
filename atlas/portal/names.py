"""Which uploaded file names the portal takes: refused with a reason a focal point can act on, never guessed.

A name comes from the browser and is untrusted. It becomes a file name in the inbox, so it must be a plain
name (no folder, no ``..``, no NUL or control character), of a file type the inbox sorts, short enough for
every file system, and free of look-alike characters (fullwidth dots and slashes, Cyrillic letters inside a
Latin name, invisible or right-to-left marks) that would make ``KHM_GSSmap_ECe_0-30.tif`` look right and be
wrong. Letters of any one script are fine: a Khmer or Thai chapter title is a legitimate name.
"""

from __future__ import annotations

import unicodedata

from atlas.intake.inbox import (
    CROSSWALK_NAME,
    DOCUMENT_SUFFIXES,
    RASTER_SIDECARS,
    RASTER_SUFFIXES,
    SALINITY_COMPANIONS,
    SHAPEFILE_SIDECARS,
    VECTOR_SUFFIXES,
)
from atlas.portal.i18n import _

MAX_NAME_CHARS = 200  # leaves room under the 255-byte limit of most file systems
MAX_NAME_BYTES = 255
ACCEPTED_SUFFIXES = frozenset(RASTER_SUFFIXES | VECTOR_SUFFIXES | DOCUMENT_SUFFIXES | SHAPEFILE_SIDECARS
                              | SALINITY_COMPANIONS | {"." + s.rsplit(".", 1)[-1] for s in RASTER_SIDECARS})
FORBIDDEN_CHARS = set('<>:"|?*')  # refused by Windows, where focal points' copies of the inbox may end up
CONFUSABLE_SCRIPTS = {"LATIN", "CYRILLIC", "GREEK", "ARMENIAN"}  # scripts whose letters look like Latin ones


class BadName(ValueError):
    """A file name the portal does not take; the message says why and what to do."""


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    try:
        return unicodedata.name(ch).split()[0]
    except ValueError:
        return None


def safe_name(raw: str) -> str:
    """The name as it will be stored (Unicode NFC), or BadName."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadName(_("the file has no name"))
    if "\x00" in raw:
        raise BadName(_("the name contains a NUL character: rename the file"))
    if "/" in raw or "\\" in raw or (len(raw) > 1 and raw[1] == ":"):
        raise BadName(_("the name is a path (it contains / or \\ or a drive letter): upload the file itself"))
    name = unicodedata.normalize("NFC", raw)
    if name in (".", "..") or name.startswith("."):
        raise BadName(_("the name starts with a dot (a hidden file): rename it"))
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadName(_("the name is %(n)d characters long; at most %(limit)d are accepted: shorten it",
                        n=len(name), limit=MAX_NAME_CHARS))
    bad = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})
    if bad:
        raise BadName(_("the name contains invisible or control characters (%(chars)s): retype it",
                        chars=", ".join(bad)))
    if FORBIDDEN_CHARS & set(name):
        raise BadName(_("the name contains %(chars)s: use letters, digits, - and _ only",
                        chars=" ".join(sorted(FORBIDDEN_CHARS & set(name)))))
    if unicodedata.normalize("NFKC", name) != name:
        odd = sorted({c for c in name if unicodedata.normalize("NFKC", c) != c})
        raise BadName(_("the name uses look-alike characters (%(chars)s): retype it", chars=", ".join(
            _("%(char)s looks like %(plain)s", char=repr(c), plain=repr(unicodedata.normalize("NFKC", c)))
            for c in odd[:3])))
    scripts = {s for s in map(_script, name) if s}
    if len(scripts & CONFUSABLE_SCRIPTS) > 1:
        raise BadName(_("the name mixes %(scripts)s letters, which look alike: retype it with one alphabet",
                        scripts=", ".join(sorted(scripts & CONFUSABLE_SCRIPTS))))
    if name.lower().endswith((".tar", ".tar.gz", ".tgz", ".gz", ".7z", ".rar", ".bz2", ".xz")):
        raise BadName(_("only .zip archives are accepted (docs/INTAKE.md): re-pack the files as a .zip"))
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ACCEPTED_SUFFIXES and name.lower() != CROSSWALK_NAME:
        raise BadName(_("%(suffix)s is not a file type of any deliverable; accepted: %(accepted)s",
                        suffix=suffix or _("a name without extension"), accepted=" ".join(sorted(ACCEPTED_SUFFIXES))))
    return name
