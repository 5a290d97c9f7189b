"""The code location: Dagster's own folder loader collects every asset, check, sensor, schedule, job and
resource defined under ``football_assets/defs/`` (one folder per stage; ``[tool.dg]`` in pyproject.toml
names it), so a new definition only needs to live there."""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)
