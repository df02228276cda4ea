"""A table's own schema checked with frictionless: types, constraints, enums, primary and foreign keys.

``checks.table`` binds each sheet to its resource and reports the spreadsheet habits first; here the rows it
read go to frictionless as one data package, and each error comes back in the focal point's words: the
sheet, the row as the spreadsheet numbers it, the column's header, the value, and the rule.
"""

from __future__ import annotations

import re

from atlas.finding import Finding, Location
from atlas.tables.schema import TableSpec
from atlas.tables.template import field_rule, sheet_title
from atlas.wording import plural
from checks.registry import emit

MAX_PER_CHECK = 50  # findings of one check on one sheet; the rest are counted in one more finding


def capped(findings: list[Finding]) -> list[Finding]:
    """At most MAX_PER_CHECK findings per check id; the rest counted in one ``table.more`` finding."""
    out, seen = [], {}
    for f in findings:
        seen[f.check_id] = seen.get(f.check_id, 0) + 1
        if seen[f.check_id] <= MAX_PER_CHECK:
            out.append(f)
    for cid, n in seen.items():
        if n > MAX_PER_CHECK:
            first = next(f for f in findings if f.check_id == cid)
            out.append(emit("table.more",
                            f"{plural(n - MAX_PER_CHECK, 'more finding')} {cid} on this sheet, not listed",
                            Location(file=first.location.file, sheet=first.location.sheet), observed=n))
    return out


def schema_findings(checks: list, spec: TableSpec) -> list[Finding]:
    """The schema's own rules with frictionless: types, constraints, primary and foreign keys."""
    from frictionless import Package, Resource, Schema

    by_name = {c.resource.name: c for c in checks}
    resources = []
    for c in checks:
        names = [f.name for f in c.resource.fields]
        data = [names] + [[row[n] for n in names] for _, row in c.rows]
        descriptor = dict(c.resource.schema)
        # a foreign key to a sheet that is missing is reported as the missing sheet, not row by row
        descriptor["foreignKeys"] = [fk for fk in descriptor.get("foreignKeys", [])
                                     if fk["reference"].get("resource", "") in by_name]
        resources.append(Resource(name=c.resource.name, data=data, schema=Schema.from_descriptor(descriptor)))
    if not resources:
        return []
    report = Package(resources=resources).validate(limit_errors=10_000)
    out: list[Finding] = []
    for task in report.tasks:
        c = by_name[task.name]
        found = [f for e in task.errors if (f := _translate(e, c, spec)) is not None]
        out += capped(found)
    return out


def _translate(error, c, spec: TableSpec) -> Finding | None:
    """One frictionless error in the focal point's words: sheet, row, column, value and the rule."""
    kind = error.type
    row_number = getattr(error, "row_number", None)
    number = c.rows[row_number - 2][0] if row_number and 2 <= row_number <= len(c.rows) + 1 else None
    name = getattr(error, "field_name", None)
    col = next((col for col in c.columns if col.field.name == name), None)
    header = col.header if col else (c.resource.field(name).title if name else None)
    cell = getattr(error, "cell", None)
    if name and number is not None and (number, name) in c.reported:
        return None  # said already, in plainer words (a date typed as text, a number with a unit)
    where = c.loc(number, header)
    if kind == "type-error":
        f = c.resource.field(name)
        return emit("table.type", f"{cell!r} is not {field_rule(f).split(',')[0]}", where, observed=cell,
                    expected=f.type)
    if kind == "constraint-error":
        f = c.resource.field(name)
        constraint = (error.note or "").split('"')[1] if '"' in (error.note or "") else ""
        if constraint == "required":
            return emit("table.constraint", f"'{f.title}' is empty but required", where, expected=field_rule(f))
        if constraint == "enum":
            return emit("table.enum", f"{cell!r} is not one of the list of '{f.title}': {'; '.join(f.enum)}",
                        where, observed=cell, expected=list(f.enum))
        return emit("table.constraint", f"{cell!r} breaks the rule of '{f.title}': {field_rule(f)}", where,
                    observed=cell, expected=field_rule(f))
    if kind in ("primary-key", "unique-error"):
        keys = c.resource.primary_key if kind == "primary-key" else (name,)
        row = c.rows[row_number - 2][1] if number is not None else {}
        value = ", ".join(str(row.get(k)) for k in keys)
        first = re.search(r"position (\d+)", error.note or "")
        other = c.rows[int(first.group(1)) - 2][0] if first and 2 <= int(first.group(1)) <= len(c.rows) + 1 else None
        titles = ", ".join(c.resource.field(k).title for k in keys)
        return emit("table.duplicate_key", f"{titles} {value!r} is repeated" + (f" (first in row {other})" if other
                    else ""), c.loc(number, titles), observed=value, expected=f"a unique {titles}")
    if kind == "foreign-key":
        row = c.rows[row_number - 2][1] if number is not None else {}
        fk = next(iter(c.resource.foreign_keys), {})
        fields = fk.get("fields", [])
        ref = spec.resource(fk.get("reference", {}).get("resource", ""))
        value = ", ".join(str(row.get(k)) for k in fields)
        titles = ", ".join(c.resource.field(k).title for k in fields)
        return emit("table.foreign_key", f"{titles} {value!r} is not in the sheet "
                    f"'{sheet_title(ref) if ref else '?'}'", c.loc(number, titles), observed=value,
                    expected=f"an {titles} of the sheet '{sheet_title(ref) if ref else '?'}'")
    return emit("table.invalid", f"{error.title}: {error.note}", where, observed=cell)
