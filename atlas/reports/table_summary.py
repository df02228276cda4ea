"""The one-page meeting summary of the regional tables: counts per threat and severity, rows per country."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from atlas.atomic import write_atomic
from atlas.reports.jinja_env import render

SUMMARY_NAME = "meeting_summary"


def write_table_summary(programme, summaries: list[dict], out_dir: Path) -> list[Path]:
    """``meeting_summary.html`` (A4, prints on one page) and ``.md`` from ``meeting_counts`` of each table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    values = {"programme": programme.name, "summaries": summaries, "today": dt.date.today().isoformat(),
              "members": len(programme.members)}
    written = []
    for suffix in ("html", "md"):
        target = out_dir / f"{SUMMARY_NAME}.{suffix}"
        text = render(f"table_summary.{suffix}.j2", **values)
        write_atomic(target, lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"))
        written.append(target)
    return written
