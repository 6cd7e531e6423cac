"""Runs BORIS's own code on a project file: ``python boris_harness.py PROJECT.boris OUT_DIR``.

BORIS (``boris-behav-obs``) is a PyQt5 application; its package ``__init__`` starts the GUI (and needs
PulseAudio) and its utilities load libmpv, the video player. Neither is part of reading a project, so
the two are stood in for before BORIS's modules are imported; everything else is BORIS's code:

- ``project_functions.open_project_json``: BORIS's project reader;
- ``project_functions.check_project_integrity``: what BORIS checks when it opens a project;
- ``export_observation.export_aggregated_events``: BORIS's aggregated events export, one row per event,
  written to ``OUT_DIR/aggregated.tsv`` under the aggregated-table header (BORIS builds that header in a
  dialog; ours is used and the row width checked against it);
- the project as BORIS saves it (``json.dumps`` with BORIS's ``decimal_default``): ``OUT_DIR/resaved.boris``.

Prints one JSON line: ``{"error": ..., "integrity": ..., "rows": n}``. Run in its own process: PyQt5
and PySide6 do not share one.
"""
import csv
import importlib.util
import json
import sys
import types
from pathlib import Path

spec = importlib.util.find_spec("boris")
package = types.ModuleType("boris")
package.__path__ = list(spec.submodule_search_locations)
sys.modules["boris"] = package
player = types.ModuleType("boris.mpv2")
player.dll = ""
sys.modules["boris.mpv2"] = player

from boris import config as cfg  # noqa: E402
from boris import export_observation, project_functions, utilities  # noqa: E402

from star_model.data.interchange.boris_table import COLUMNS  # noqa: E402


def main(project: str, out: Path) -> dict:
    _, _, pj, _ = project_functions.open_project_json(project)
    if "error" in pj:
        return {"error": pj["error"]}
    integrity = project_functions.check_project_integrity(pj, cfg.S, project, media_file_available=False)
    codes = [b[cfg.BEHAVIOR_CODE] for b in pj[cfg.ETHOGRAM].values()]
    rows = []
    for obs_id in pj[cfg.OBSERVATIONS]:
        params = {cfg.SELECTED_SUBJECTS: [cfg.NO_FOCAL_SUBJECT], cfg.SELECTED_BEHAVIORS: codes, "time": cfg.TIME_FULL_OBS}
        data, _ = export_observation.export_aggregated_events(pj, params, obs_id)
        rows += [["" if v is None else str(v) for v in row] for row in data]
    if any(len(row) != len(COLUMNS) for row in rows):
        return {"error": f"BORIS wrote rows of {sorted({len(r) for r in rows})} cells, the header has {len(COLUMNS)}"}
    with open(out / "aggregated.tsv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    (out / "resaved.boris").write_text(json.dumps(pj, default=utilities.decimal_default, indent=1), encoding="utf-8")
    return {"error": None, "integrity": integrity, "rows": len(rows)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
