"""One cached Jinja2 environment for the reports and the submission guide (templates ship in the package)."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from atlas.reports.values import km2


@lru_cache(maxsize=1)
def environment() -> Environment:
    """HTML templates are autoescaped; Markdown ones (``*.md.j2``) are not."""
    env = Environment(
        loader=PackageLoader("atlas.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,  # a misspelt name in a template fails loudly, in the tests
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["km2"] = km2
    env.filters["md_cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return env


def render(template: str, **values) -> str:
    return environment().get_template(template).render(**values)
