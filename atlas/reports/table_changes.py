"""What changed in a table since the previous version: rows added, removed and changed, by the row's key."""

from __future__ import annotations

from pathlib import Path

from atlas.products.regional_tables import ROW_COLUMN, read_table_copy, table_copy_dir
from atlas.tables.schema import TableSpec
from atlas.tables.template import sheet_title

MAX_LISTED = 30  # rows listed per sheet and kind of change; the counts are always complete


def row_changes(processed: Path, spec: TableSpec, iso3: str, version: int) -> dict | None:
    """Rows added, removed and changed per sheet since the newest earlier version with a copy; None if none."""
    current = read_table_copy(table_copy_dir(processed, iso3, spec.key, version), spec)
    since = next((v for v in range(int(version) - 1, 0, -1)
                  if table_copy_dir(processed, iso3, spec.key, v).is_dir()), None)
    if since is None or not current:
        return None
    previous = read_table_copy(table_copy_dir(processed, iso3, spec.key, since), spec)
    sheets = []
    for resource in spec.resources:
        fields = [f.name for f in resource.fields]
        keys = list(resource.primary_key) or fields
        before = _by_key(previous.get(resource.name), keys, fields)
        after = _by_key(current.get(resource.name), keys, fields)
        added = [k for k in after if k not in before]
        removed = [k for k in before if k not in after]
        changed = []
        for k in after:
            if k in before and after[k][0] != before[k][0]:
                diffs = [{"column": resource.field(n).title, "before": a, "after": b}
                         for n, a, b in zip(fields, before[k][0], after[k][0], strict=True) if a != b]
                changed.append({"key": " / ".join(k), "row": after[k][1], "changes": diffs})
        sheets.append({
            "title": sheet_title(resource),
            "added": [{"key": " / ".join(k), "row": after[k][1]} for k in added][:MAX_LISTED],
            "removed": [{"key": " / ".join(k), "row": before[k][1]} for k in removed][:MAX_LISTED],
            "changed": changed[:MAX_LISTED],
            "counts": {"added": len(added), "removed": len(removed), "changed": len(changed)},
        })
    return {"since_version": since, "sheets": sheets}


def _by_key(frame, keys: list[str], fields: list[str]) -> dict[tuple, tuple[list, str]]:
    """Rows by their key (text, case kept): (values of every field, the spreadsheet row)."""
    if frame is None:
        return {}
    out = {}
    for _, row in frame.iterrows():
        key = tuple(str(row.get(k, "")) for k in keys)
        out.setdefault(key, ([str(row.get(f, "")) for f in fields], str(row.get(ROW_COLUMN, ""))))
    return out
