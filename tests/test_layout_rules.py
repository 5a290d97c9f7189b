"""Project rules that keep the code usable outside Dagster."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "football_assets" / "core"


def test_core_never_imports_dagster():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n == "dagster" or n.startswith("dagster.")
                          or n.startswith("dagster_") and n != "dagster_pipes"]
    assert offenders == []


def test_definitions_load_with_ingest_assets():
    from football_assets.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_clips", "clips_4fps"} <= keys
    assert defs.resolve_job_def("ingest_job") is not None
