"""A table deliverable's schema: a Frictionless data package descriptor, one resource per sheet.

The descriptor (JSON) is the single definition of a table: the template, the validation and the regional
table are all made from it. ``TableSpec`` holds what the pipeline needs of it in plain values; the
descriptor itself is kept for frictionless (``TableResource.schema``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from atlas.config import Deliverable, Programme, class_key, schema_file
from atlas.errors import ConfigError


@dataclass(frozen=True)
class TableField:
    name: str
    title: str
    type: str  # string | number | integer | date | boolean (Table Schema types)
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    pattern: str | None = None

    def header_matches(self, header: object) -> bool:
        """A header cell names this field: its name or its title, case, spaces and signs ignored."""
        return class_key(header) in (class_key(self.name), class_key(self.title))


@dataclass(frozen=True)
class TableResource:
    name: str
    title: str
    description: str
    fields: tuple[TableField, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[dict, ...] = ()
    schema: dict = field(default_factory=dict, compare=False)  # the Table Schema descriptor, for frictionless

    def field(self, name: str) -> TableField:
        return next(f for f in self.fields if f.name == name)


@dataclass(frozen=True)
class TableSpec:
    key: str  # the deliverable key in programme.toml
    title: str
    description: str
    version: str  # the template version; a workbook from an older template is flagged
    resources: tuple[TableResource, ...]
    path: Path

    def resource(self, name: str) -> TableResource | None:
        return next((r for r in self.resources if r.name == name), None)


def _field(d: dict) -> TableField:
    c = d.get("constraints", {})
    return TableField(
        name=d["name"], title=d.get("title") or d["name"], type=d.get("type", "string"),
        description=d.get("description", ""), required=bool(c.get("required", False)),
        enum=tuple(str(v) for v in c.get("enum", ())), minimum=c.get("minimum"), maximum=c.get("maximum"),
        max_length=c.get("maxLength"), pattern=c.get("pattern"),
    )


def read_spec(path: Path, key: str) -> TableSpec:
    """The table described by the data package descriptor at ``path``.

    Raises ConfigError when the file is not a readable descriptor with resources, fields and names.
    """
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        resources = tuple(
            TableResource(
                name=r["name"], title=r.get("title") or r["name"], description=r.get("description", ""),
                fields=tuple(_field(f) for f in r["schema"]["fields"]),
                primary_key=tuple(_as_list(r["schema"].get("primaryKey", ()))),
                foreign_keys=tuple(r["schema"].get("foreignKeys", ())), schema=r["schema"],
            )
            for r in d["resources"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"table schema {path}: not a data package descriptor with resources and fields "
                          f"({type(exc).__name__}: {exc})") from exc
    if not resources:
        raise ConfigError(f"table schema {path}: no resources (one per sheet)")
    return TableSpec(key, d.get("title") or key, d.get("description", ""), str(d.get("version", "1")), resources,
                     Path(path))


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def load_table_spec(programme: Programme, deliverable: str) -> TableSpec:
    """The schema of one table deliverable of the programme. Raises ConfigError for any other deliverable."""
    d = programme.deliverables.get(deliverable)
    if d is None or d.kind != "table":
        tables = ", ".join(table_deliverables(programme)) or "none"
        raise ConfigError(f"{deliverable!r} is not a table deliverable of the programme (tables: {tables})")
    return read_spec(schema_file(programme.root, d.schema), deliverable)


def table_deliverables(programme: Programme) -> dict[str, Deliverable]:
    """The programme's deliverables of kind ``table``, in programme order."""
    return {k: d for k, d in programme.deliverables.items() if d.kind == "table"}
