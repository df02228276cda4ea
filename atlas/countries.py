"""One way to name a member country: its ISO3 code, its name, or a near miss answered with a suggestion.

Every place a person types a country (``atlas run --country``, ``atlas status``, ``atlas validate
--country``, the Prefect deployments' ``country`` parameter) resolves it here, so each accepts
the same spellings and refuses the same mistakes with the same one-line message.
"""

from __future__ import annotations

import difflib
import unicodedata

from atlas.errors import ConfigError


def _key(text: str) -> str:
    """A name reduced for matching: case, accents, spaces and punctuation ignored ('Viet Nam' = 'vietnam')."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def resolve_country(members: dict[str, str], text: str) -> str:
    """The ISO3 code of the member ``text`` names (code or name, any case); else a ConfigError that suggests one.

    >>> resolve_country({"KHM": "Cambodia"}, "cambodia")
    'KHM'
    """
    given = " ".join(str(text).split())
    if given.upper() in members:
        return given.upper()
    by_key = {_key(name): iso3 for iso3, name in members.items()}
    if _key(given) in by_key:
        return by_key[_key(given)]
    raise ConfigError(f"country {given!r} is not in the programme: {suggestion(members, given)}"
                      f"members are {', '.join(members)}")


def suggestion(members: dict[str, str], text: str) -> str:
    """'did you mean Cambodia (KHM)? ' for a near miss of a code or a name, else ''."""
    key = _key(text)
    candidates = {_key(name): iso3 for iso3, name in members.items()}
    if len(key) <= 3:  # a mistyped code is closer to the codes than to the names
        candidates = {iso3.lower(): iso3 for iso3 in members} | candidates
    near = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    if not near:
        return ""
    iso3 = candidates[near[0]]
    return f"did you mean {members[iso3]} ({iso3})? "
