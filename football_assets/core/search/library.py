"""The library's events as index rows: the annotation snapshot (truth), the latest predictions and the
kept ``analyze --index`` results (model), each placed in its clip and in its source match video.

Source times: a clip cut from a longer video (``start``/``end`` in ``sources.yaml``) records the segment in
its raw facts; source time = segment start + clip time. A whole-file or demo clip is its own source
(offset 0). The match is the clip's ``source_id`` (the demo's ``demo-s0-match000``, a URL, a file).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from football_assets.core.fsutil import read_json, write_json
from football_assets.core.layout import DataLayout
from football_assets.core.search import index
from football_assets.core.search.index import Row


def clip_context(layout: DataLayout, clip_id: str, source_id: str | None = None) -> dict:
    """Where a clip's times land: its video, match, source video and offset in that source."""
    facts = read_json(layout.clip_facts(clip_id)) or {}
    raw = read_json(layout.raw_dir / f"{clip_id}.json") or {}
    segment = raw.get("segment") or [None, None]
    return {"video": str(facts.get("path") or layout.clip(clip_id)),
            "match_id": str(source_id or facts.get("source_id") or raw.get("source_id") or clip_id),
            "source_video": str(raw.get("source") or facts.get("path") or layout.clip(clip_id)),
            "offset": float(segment[0] or 0.0)}


def _row(ctx: dict, clip_id: str, e: dict, model_version=None, confidence=None) -> Row:
    s, t = float(e["start_time"]), float(e["end_time"])
    return Row(clip_id=clip_id, match_id=ctx["match_id"], video=ctx["video"], source_video=ctx["source_video"],
               event=e["event"], start_s=s, end_s=t, source_start_s=round(ctx["offset"] + s, 3),
               source_end_s=round(ctx["offset"] + t, 3), description=str(e.get("description") or ""),
               model_version=model_version, confidence=confidence)


def annotation_docs(layout: DataLayout) -> dict[str, list[Row]]:
    """``annotation:<clip>`` -> its truth rows (empty for a clip annotated with no event), from the latest
    snapshot; {} before the first snapshot."""
    from football_assets.core.annotation.snapshots import load_latest

    try:
        snap = load_latest(layout)
    except FileNotFoundError:
        return {}
    sources = dict(zip(snap.tasks["clip_id"].astype(str), snap.tasks["source_id"].astype(str)))
    docs: dict[str, list[Row]] = {f"annotation:{c}": [] for c in sources}
    ctx = {c: clip_context(layout, c, s) for c, s in sources.items()}
    for e in snap.events.to_dict("records"):
        c = str(e["clip_id"])
        docs.setdefault(f"annotation:{c}", []).append(_row(ctx.get(c) or clip_context(layout, c), c, e))
    return docs


def prediction_docs(layout: DataLayout) -> dict[str, list[Row]]:
    """``prediction:<clip>`` -> the latest predictions' rows with model version and confidence."""
    preds = read_json(layout.predictions_file) or {}
    version = str(preds.get("model_version") or "")
    docs = {}
    for clip_id, events in (preds.get("clips") or {}).items():
        ctx = clip_context(layout, clip_id)
        docs[f"prediction:{clip_id}"] = [_row(ctx, clip_id, e, version, float(e.get("confidence", 1.0))) for e in events]
    return docs


def analysis_rows(result: dict, match: str | None = None) -> tuple[str, list[Row]]:
    """An ``analyze`` result -> (origin, rows). The analysed video is its own source (offset 0); its match
    is ``match`` or the video's file name."""
    video = str(Path(result["video"]).resolve())
    clip_id = Path(video).stem
    ctx = {"video": video, "match_id": match or Path(video).name, "source_video": video, "offset": 0.0}
    version = str(result.get("model_version") or "")
    return f"analysis:{video}", [_row(ctx, clip_id, e, version, float(e.get("confidence", 1.0)))
                                 for e in result.get("events", [])]


def analysis_docs(layout: DataLayout) -> dict[str, list[Row]]:
    """Every kept analysis (``<data>/analyses/*.json``) as index rows."""
    docs = {}
    for f in sorted(layout.analyses_dir.glob("*.json")):
        data = read_json(f)
        origin, rows = analysis_rows(data, data.get("match"))
        docs[origin] = rows
    return docs


def keep_analysis(layout: DataLayout, result: dict, match: str | None = None) -> Path:
    """Store an ``analyze`` result under ``<data>/analyses/`` (one file per video) so the asset keeps it."""
    video = str(Path(result["video"]).resolve())
    dest = layout.analyses_dir / f"{Path(video).stem}-{hashlib.sha256(video.encode()).hexdigest()[:8]}.json"
    write_json(dest, {**result, "video": video, **({"match": match} if match else {})})
    return dest


def index_analysis(layout: DataLayout, result: dict, match: str | None = None) -> str:
    """Keep an analysis and add it to the index now (only its own rows change); returns the sync outcome."""
    keep_analysis(layout, result, match)
    origin, rows = analysis_rows(result, match)
    con = index.connect(layout.index_file)
    try:
        return index.sync_origin(con, origin, "analysis", rows)
    finally:
        con.close()


def update(layout: DataLayout) -> dict:
    """Bring the index up to date with the library; only changed origins are written. Counts per kind."""
    con = index.connect(layout.index_file)
    try:
        out = {"annotation": index.sync_kind(con, "annotation", annotation_docs(layout)),
               "prediction": index.sync_kind(con, "prediction", prediction_docs(layout)),
               "analysis": index.sync_kind(con, "analysis", analysis_docs(layout))}
        out["stats"] = index.stats(con)
    finally:
        con.close()
    return out
