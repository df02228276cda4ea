"""`atlas validate` runs on a focal point's light install: the core package, without the pipeline extra.

The subprocess refuses every import of the `pipeline` extra's packages (Prefect, Dask, pystac, ...), as if
they were not installed, and validates a demo country's real deliveries.
"""

from __future__ import annotations

import json
import subprocess
import sys

from atlas.cli import PIPELINE_MODULES
from atlas.config import DEFAULT_CONFIG, load_programme

BLOCKED_RUN = """
import importlib.abc, json, sys
BLOCKED = set(json.loads(sys.argv[1]))

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from atlas.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exit_:
    code = exit_.code
else:
    code = 0
loaded = sorted({m.split(".")[0] for m in sys.modules} & BLOCKED)
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def _atlas_without_pipeline(*argv: str, cwd) -> tuple[dict, str, str]:
    """(exit code and blocked modules loaded, stdout, stderr) of `atlas *argv` without the pipeline extra."""
    proc = subprocess.run([sys.executable, "-c", BLOCKED_RUN, json.dumps(sorted(PIPELINE_MODULES)), *argv],
                          capture_output=True, text=True, cwd=cwd, timeout=600)
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    return result, proc.stdout, proc.stderr


def test_atlas_validate_needs_no_prefect_and_no_dask(tmp_path):
    from atlas.demo.programme import generate_demo

    config = tmp_path / "programme.toml"
    config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    programme = load_programme(config)
    generate_demo(programme, countries=["LKA"], window=(79.0, 5.5, 82.5, 10.0))
    result, out, err = _atlas_without_pipeline("validate", str(programme.raw_dir / "LKA"), "--json", "--html",
                                               str(tmp_path / "reports"), cwd=tmp_path)
    assert result["loaded"] == [] and result["code"] in (0, 3), err
    report = json.loads(out)
    assert {s["report"]["meta"]["deliverable"] for s in report["submissions"]} >= {"salinity_map", "soil_map"}
    assert list((tmp_path / "reports").rglob("report.html"))


def test_a_pipeline_command_on_the_light_install_says_what_to_install(tmp_path):
    config = tmp_path / "programme.toml"
    config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    result, out, err = _atlas_without_pipeline("run", "--config", str(config), cwd=tmp_path)
    assert result["code"] == 2 and "Traceback" not in out + err, err
    assert 'pip install "soil-atlas-pipeline[pipeline]"' in err
