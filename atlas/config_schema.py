"""The schema of programme.toml, derived from the dataclasses in ``atlas.config``.

Every key of the TOML file must be a field of those dataclasses (see the module docstring of
``atlas.config`` for where each field lives); its value is checked with pydantic against the
field's type. A misspelt key or section is refused naming the nearest valid one ("deadlne: did
you mean deadline?"), a wrong type names the key and the type expected. A field added to the
dataclasses is part of the schema without any change here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from atlas.errors import ConfigError

# Where Programme's original fields live in the TOML file (newer fields say it in their metadata).
PROGRAMME_KEYS = {
    "name": "programme.name",
    "raw_dir": "paths.raw",
    "processed_dir": "paths.processed",
    "reference_boundaries": "paths.reference_boundaries",
    "ledger_path": "paths.ledger",
    "iso_columns": "reference.iso_columns",
    "name_columns": "reference.name_columns",
    "crs": "grid.crs",
    "resolution_deg": "grid.resolution_deg",
    "alignment_tolerance_px": "grid.alignment_tolerance_px",
    "region_bounds": "region.bounds",
    "equal_area_crs": "region.equal_area_crs",
    "soil_required_fields": "soil_map.required_fields",
    "soil_optional_fields": "soil_map.optional_fields",
    "sliver_max_km2": "harmonize.sliver_max_km2",
    "gap_fill_max_width_km": "harmonize.gap_fill_max_width_km",
}
# Salinity values that sit in sub-tables of [salinity] rather than under their field name.
SALINITY_KEYS = {
    "ece_warn_above": "ranges.ECe_warn_above",
    "ece_saline_dsm": "thresholds.ece_saline_dsm",
    "esp_sodic_pct": "thresholds.esp_sodic_pct",
    "criterion": "thresholds.criterion",
    "esp_intensity_pct": "thresholds.esp_intensity_pct",
}
# Fields written in the TOML file as several keys (one per criterion), with the type of each key.
SPLIT_KEYS = {
    "ph_cut": {"salinity.thresholds.ph_cut_fao": float, "salinity.thresholds.ph_cut_usda": float},
    "ece_intensity_dsm": {"salinity.thresholds.ece_intensity_fao_dsm": tuple[float, ...],
                          "salinity.thresholds.ece_intensity_usda_dsm": tuple[float, ...]},
}
# The formats of the status exports for meetings ([status] formats, `atlas status export --format`).
STATUS_FORMATS = ("csv", "xlsx", "md", "html", "png", "svg")
OPTIONAL = {"ece_warn_above"}  # fields without a dataclass default that load_programme defaults itself
NOT_IN_TOML = {"root", "extra", "key"}  # derived: the file's folder, the raw tables, a deliverable's table name


@functools.cache
def _adapter(tp) -> TypeAdapter:
    """One pydantic adapter per type: building one costs far more than validating with it (~200 per load)."""
    return TypeAdapter(tp)


@dataclass
class Slot:
    """One key of the TOML file: the field type its value must have, and any keys nested below it."""

    type: object = None  # None: a plain table holding only the children
    required: bool = False
    children: dict[str, Slot] = field(default_factory=dict)
    free_keys: object = None  # a table of free keys (members, deliverables): the type of each value


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)  # resolved in the dataclass's own module; once per class (string annotations)


def _required(f: dataclasses.Field, tp) -> bool:
    no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    optional = typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)
    return no_default and not optional


def _place(tree: dict[str, Slot], path: str, slot: Slot) -> None:
    *tables, leaf = path.split(".")
    for name in tables:
        tree = tree.setdefault(name, Slot()).children
    if leaf in tree:  # a table already made for nested keys (salinity.ranges): keep its children
        slot.children = tree[leaf].children
    tree[leaf] = slot


def _dataclass_slots(cls, locations: dict[str, str]) -> dict[str, Slot]:
    """The keys of a table that holds one dataclass: field name, or the path ``locations`` gives."""
    tree: dict[str, Slot] = {}
    for f in dataclasses.fields(cls):
        if f.name in NOT_IN_TOML or f.name in SPLIT_KEYS:
            continue
        tp = _hints(cls)[f.name]
        required = _required(f, tp) and f.name not in OPTIONAL
        _place(tree, f.metadata.get("toml") or locations.get(f.name, f.name), _slot(tp, required))
    return tree


def _slot(tp, required: bool) -> Slot:
    if dataclasses.is_dataclass(tp):
        return Slot(required=required, children=_dataclass_slots(tp, {}))
    if typing.get_origin(tp) is dict and dataclasses.is_dataclass(typing.get_args(tp)[1]):
        return Slot(required=required, free_keys=typing.get_args(tp)[1])
    return Slot(type=tp, required=required)


@functools.cache
def schema(root: type) -> dict[str, Slot]:
    """Every section and key programme.toml may hold, built from ``root`` (``atlas.config.Programme``) and the
    dataclasses it holds; ``atlas.config`` passes it in, so the two modules depend one way."""
    tree: dict[str, Slot] = {}
    unplaced = []
    for f in dataclasses.fields(root):
        if f.name in NOT_IN_TOML:
            continue
        tp = _hints(root)[f.name]
        path = f.metadata.get("toml") or PROGRAMME_KEYS.get(f.name)
        if f.name == "salinity":
            _place(tree, "salinity", Slot(required=True, children=_dataclass_slots(tp, SALINITY_KEYS)))
        elif path:
            _place(tree, path, _slot(tp, _required(f, tp)))
        elif dataclasses.is_dataclass(tp) or typing.get_origin(tp) is dict:
            _place(tree, f.name, _slot(tp, _required(f, tp)))  # a whole section named after the field
        else:
            unplaced.append((f.name, _slot(tp, _required(f, tp))))
    for keys in SPLIT_KEYS.values():
        for path, tp in keys.items():
            _place(tree, path, Slot(type=tp))
    # a plain field that does not say where it lives is accepted under its name in any plain section
    for name, slot in unplaced:
        for section in tree.values():
            if section.type is None and not section.free_keys:
                section.children.setdefault(name, slot)
    return tree


NOUNS = {int: ("an integer", "integers"), float: ("a number", "numbers"), str: ("a text string", "text strings"),
         bool: ("true or false", "true/false values"), dt.date: ("a date (YYYY-MM-DD)", "dates (YYYY-MM-DD)"),
         Path: ("a path (text)", "paths (text)")}


def _type_name(tp, plural: bool = False) -> str:
    """The expected type in words a GIS officer reads ("a list of 4 numbers")."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a, plural) for a in args if a is not type(None))
    if origin is tuple:
        count = "" if len(args) == 2 and args[1] is Ellipsis else f"{len(args)} "
        return f"{'lists' if plural else 'a list'} of {count}{_type_name(args[0], True)}"
    if origin is dict:
        return f"{'tables' if plural else 'a table'} of {_type_name(args[1], True)}"
    name = getattr(tp, "__name__", str(tp))
    return NOUNS.get(tp, (name, name + "s"))[1 if plural else 0]


def _nearest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else ""


def _where(path: tuple[str, ...]) -> str:
    return f"[{'.'.join(path)}]" if path else "top level"


def _check_table(table: dict, slots: dict[str, Slot], path: tuple[str, ...], errors: list[str]) -> None:
    suggested = set()
    for key, value in table.items():
        slot = slots.get(key)
        if slot is None:
            suggested.add(_unknown(key, slots, path, isinstance(value, dict), errors))
            continue
        _check_value(value, slot, (*path, key), errors)
    for key, slot in slots.items():
        if slot.required and key not in table and key not in suggested:  # a typo is reported once
            errors.append(f"missing setting {key} in {_where(path)}" if path else f"missing section [{key}]")


def _unknown(key: str, slots: dict[str, Slot], path: tuple[str, ...], is_table: bool, errors: list[str]) -> str:
    """Report a key nobody reads, with the nearest valid one; returns that one ("" if none is close)."""
    if not path or is_table:  # a section (or sub-table)
        tables = [k for k, s in slots.items() if s.type is None or s.children] if path else list(slots)
        near = _nearest(key, tables)
        name = ".".join((*path, key))
        errors.append(f"unknown section [{name}]: did you mean [{'.'.join((*path, near))}]?" if near else
                      f"unknown section [{name}]; sections are {', '.join(tables)}")
        return near
    near = _nearest(key, slots)
    errors.append(f"unknown setting {_where(path)} {key}: did you mean {near}?" if near else
                  f"unknown setting {_where(path)} {key}; settings there are {', '.join(slots)}")
    return near


def _check_value(value, slot: Slot, path: tuple[str, ...], errors: list[str]) -> None:
    where = f"{_where(path[:-1])} {path[-1]}" if len(path) > 1 else f"[{path[0]}]"
    if slot.free_keys is not None:
        if not isinstance(value, dict):
            errors.append(f"{where} must be a table of tables")
            return
        slots = _dataclass_slots(slot.free_keys, {})
        for key, sub in value.items():
            if not isinstance(sub, dict):
                errors.append(f"[{'.'.join(path)}] {key} must be a table ([{'.'.join((*path, key))}])")
            else:
                _check_table(sub, slots, (*path, key), errors)
        return
    if slot.type is None or (slot.children and isinstance(value, dict)):
        if not isinstance(value, dict):
            errors.append(f"{where} must be a table, not {value!r}")
            return
        _check_table({k: v for k, v in value.items() if k in slot.children or slot.type is None},
                     slot.children, path, errors)
        value = {k: v for k, v in value.items() if k not in slot.children}
        if slot.type is None:
            return
    if typing.get_origin(slot.type) is dict and isinstance(value, dict):
        _check_items(value, slot, path, errors)
        return
    try:
        _adapter(slot.type).validate_python(value)
    except ValidationError:
        errors.append(f"{where} = {value!r}: expected {_type_name(slot.type)}")


def _check_items(value: dict, slot: Slot, path: tuple[str, ...], errors: list[str]) -> None:
    """A table of free keys ([members], [salinity.units]): each key and value on its own, so errors name the key."""
    key_type, item_type = typing.get_args(slot.type)
    for key, item in value.items():
        if path == ("members",) and not re.fullmatch(r"[A-Z]{3}", key):
            errors.append(f"[members] {key}: a member is keyed by its ISO3 code, three capital letters (e.g. KHM)")
            continue
        try:
            _adapter(key_type).validate_python(key)
        except ValidationError:
            errors.append(f"{_where(path)} {key}: a key here must be {_type_name(key_type)}")
            continue
        try:
            _adapter(item_type).validate_python(item)
        except ValidationError:
            near = _nearest(key, slot.children)
            hint = f" (or did you mean {near}?)" if near else ""
            errors.append(f"{_where(path)} {key} = {item!r}: expected {_type_name(item_type)}{hint}")


def _check_layer_keys(salinity, errors: list[str]) -> None:
    """[salinity.units] and [salinity.ranges] are keyed by layer: a key that is no layer is a typo."""
    if not isinstance(salinity, dict) or not isinstance(salinity.get("layers"), list):
        return
    layers = [str(v) for v in salinity["layers"]]
    for table, extra in (("units", ()), ("ranges", tuple(SALINITY_KEYS["ece_warn_above"].split(".")[1:]))):
        for key in salinity.get(table, {}) if isinstance(salinity.get(table), dict) else ():
            if key not in layers and key not in extra and not any(
                    e.startswith(f"[salinity.{table}] {key} ") for e in errors):  # reported once
                near = _nearest(key, [*layers, *extra])
                errors.append(f"[salinity.{table}] {key}: not a layer" + (f", did you mean {near}?" if near else
                              f"; layers are {', '.join(layers)}"))


def _check_member_keys(raw: dict, errors: list[str]) -> None:
    """[status] names members (country_order, map_points): a code that is no member is a typo."""
    members = raw.get("members") if isinstance(raw.get("members"), dict) else {}
    status = raw.get("status") if isinstance(raw.get("status"), dict) else {}
    points = status.get("map_points") if isinstance(status.get("map_points"), dict) else {}
    order = status.get("country_order") if isinstance(status.get("country_order"), list) else []
    for where, codes in (("[status.map_points]", list(points)), ("[status] country_order", order)):
        for code in codes:
            if str(code) not in members:
                near = _nearest(str(code), members)
                errors.append(f"{where} {code}: not a member" + (f", did you mean {near}?" if near else ""))


def _check_status_formats(raw: dict, errors: list[str]) -> None:
    """[status] formats names export formats: an unknown one is a typo, refused, never skipped."""
    status = raw.get("status") if isinstance(raw.get("status"), dict) else {}
    formats = status.get("formats") if isinstance(status.get("formats"), list) else []
    for fmt in formats:
        if str(fmt) not in STATUS_FORMATS:
            near = _nearest(str(fmt), STATUS_FORMATS)
            errors.append(f"[status] formats {fmt!r}: not an export format" + (
                f", did you mean {near}?" if near else f"; formats are {', '.join(STATUS_FORMATS)}"))


def validate_settings(raw: dict, root: type, path: Path | str = "programme.toml") -> None:
    """Raise ConfigError naming every unknown key or section and every value of the wrong type."""
    errors: list[str] = []
    _check_table(raw, schema(root), (), errors)
    _check_layer_keys(raw.get("salinity"), errors)
    _check_member_keys(raw, errors)
    _check_status_formats(raw, errors)
    if errors:
        raise ConfigError(f"{path}: " + "; ".join(errors))


def section(cls, table: dict):
    """A section dataclass from its (already validated) TOML table, values converted to the field types."""
    return _adapter(cls).validate_python(table)
