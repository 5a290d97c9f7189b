"""Search group: the event index over the library (truth annotations, latest predictions, kept analyses).
Thin wiring around ``core/search/library.py``; the index updates incrementally inside (per-origin content
hashes), so a re-materialization after one new clip writes only that clip's rows."""

from dagster import AssetExecutionContext, AssetKey, AutomationCondition, DataVersion, MaterializeResult, MetadataValue, asset

from football_assets.core.layout import DataLayout
from football_assets.core.search import library
from resources import DataDirResource


@asset(
    group_name="search",
    kinds={"sqlite"},
    deps=[AssetKey("annotations"), AssetKey("predictions")],
    code_version="1",
    automation_condition=AutomationCondition.eager(),
    description="Every truth and model event (clip, source match, times in the clip and in the source video, "
                "description, model version, confidence) in SQLite + FTS5 at <data>/index/events.sqlite, for "
                "`football-events search` or sqlite3. Incremental: only changed clips/predictions/analyses are "
                "rewritten.",
)
def event_index(context: AssetExecutionContext, storage: DataDirResource) -> MaterializeResult:
    layout = DataLayout.at(storage.root)
    out = library.update(layout)
    st = out.pop("stats")
    for kind, c in out.items():
        context.log.info(f"{kind}: {c}")
    changed = {k: {n: v for n, v in c.items() if n != "unchanged"} for k, c in out.items()}
    return MaterializeResult(
        metadata={"rows": st["rows"], "matches": st["matches"], "origins": st["origins"],
                  "rows_by_source_kind": MetadataValue.json(st["rows_by_source_kind"]),
                  "changes": MetadataValue.json(changed), "path": MetadataValue.path(str(layout.index_file))},
        data_version=DataVersion(st["version"]),
    )
