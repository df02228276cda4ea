"""Every string a visitor reads goes through gettext: templates and Python code call ``_()``.

Catalogues are in locale/<lang>/LC_MESSAGES/portal.po; English is the language of the source and is shipped
as a catalogue. Server messages (errors, notices, e-mails) use this module's ``_``, which formats
``%(name)s`` placeholders like the templates' ``_`` does; the language is the portal's (``use``). To add a language:
``pybabel extract -F atlas/portal/babel.cfg -o atlas/portal/locale/portal.pot atlas/portal``, then
``pybabel init -D portal -i atlas/portal/locale/portal.pot -d atlas/portal/locale -l km`` and translate; the
portal compiles the .po it finds at start (no compiled .mo in the repository), with ``portal.language``
choosing it (docs/OPERATIONS.md).
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, select_autoescape

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "portal"


def translations(language: str = "en", locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """The catalogue of ``language``, compiled from its .po in memory; untranslated strings stay English."""
    po = Path(locale_dir) / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return gettext.NullTranslations()
    with open(po, "rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_active: gettext.NullTranslations = gettext.NullTranslations()


def use(language: str = "en", locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """Make ``language`` the language of the server's messages (one language per portal process)."""
    global _active
    _active = translations(language, locale_dir)
    return _active


def _(message: str, **values) -> str:
    """``message`` translated, its ``%(name)s`` placeholders filled from ``values``."""
    text = _active.gettext(message)
    return text % values if values else text


def state_word(state: str | None) -> str:
    """A verdict or state as a visitor reads it (the templates' ``verdict`` macro says the same)."""
    words = {"accepted": _("accepted"), "accepted_with_warnings": _("accepted with warnings"),
             "rejected": _("rejected"), "published": _("published"), "harmonized": _("harmonized"),
             "partly_published": _("partly published"), "superseded": _("superseded by a later version"),
             "received": _("received"), "not_received": _("not received"), None: _("no verdict"),
             "staged": _("not sent yet"), "sent": _("sent"), "abandoned": _("abandoned, removed")}
    return words.get(state, state or "")


def environment(templates: Path, language: str = "en", locale_dir: Path = LOCALE_DIR) -> Environment:
    env = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(["html", "j2"],
                      default_for_string=True, default=True), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(use(language, locale_dir), newstyle=True)
    return env
