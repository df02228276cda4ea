"""Page strings through gettext: templates call ``_()``; catalogues in locale/<lang>/LC_MESSAGES/portal.po.

English is the language of the templates and is shipped as a catalogue. To add a language:
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


def environment(templates: Path, language: str = "en", locale_dir: Path = LOCALE_DIR) -> Environment:
    env = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(["html", "j2"],
                      default_for_string=True, default=True), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language, locale_dir), newstyle=True)
    return env
