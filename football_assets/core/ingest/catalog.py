"""Per-clip ingest steps with content-addressed caching: fetch a raw clip, make its 4 fps clip.

Each step records what it was made from in a JSON sidecar; when the inputs are unchanged it does no
download and no encode and returns the recorded facts (``cached: True``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from football_assets.core.events import TARGET_FPS
from football_assets.core.fsutil import copy_hashed, read_json, sha256_file, write_json
from football_assets.core.ingest.sources import ClipSource, fetch
from football_assets.core.ingest.video import (
    OUT_HEIGHT,
    OUT_WIDTH,
    VideoError,
    probe,
    transcode_4fps,
    transcode_args,
    validate_clip,
)
from football_assets.core.layout import DataLayout

CLIP_FORMAT_VERSION = f"{TARGET_FPS}fps-{OUT_WIDTH}x{OUT_HEIGHT}-h264-v1"


def register(layout: DataLayout, sources: list[ClipSource]) -> list[str]:
    """Record each source under its key (for the partition's materializations); return the new keys."""
    new = []
    for src in sources:
        path = layout.source_file(src.key)
        if read_json(path) != json.loads(json.dumps(src.to_dict())):
            if not path.exists():
                new.append(src.key)
            write_json(path, src.to_dict())
    return new


def load_source(layout: DataLayout, key: str) -> ClipSource:
    data = read_json(layout.source_file(key))
    if data is None:
        raise VideoError(key, f"clip is not registered (no {layout.source_file(key)}); run the source registration first")
    return ClipSource(**data)


def _file_stamp(source: ClipSource) -> dict | None:
    if source.kind != "file":
        return None
    p = Path(source.location)
    if not p.exists():
        return None
    st = p.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


@dataclass
class StepResult:
    facts: dict
    cached: bool


def ingest_raw(layout: DataLayout, key: str) -> StepResult:
    """Fetch the clip's source into ``raw/<key>.mp4`` unless the same source was fetched before."""
    source = load_source(layout, key)
    dest, sidecar = layout.raw_clip(key), layout.raw_dir / f"{key}.json"
    old = read_json(sidecar)
    stamp = _file_stamp(source)
    if old and dest.exists() and old.get("spec") == source.spec and old.get("source_stamp") == stamp \
            and dest.stat().st_size == old.get("size_bytes"):
        return StepResult(old, cached=True)
    if source.kind == "file" and source.start is None and source.end is None:
        # A whole local file: probe it once (it fails clearly on non-videos) and hash it while copying.
        src = Path(source.location)
        if not src.exists():
            raise VideoError(key, f"source file not found: {src}")
        info = probe(src, key)
        digest = copy_hashed(src, dest)
        provenance = {"title": src.name}
    else:
        provenance = fetch(source, dest)
        info = probe(dest, key)
        digest = sha256_file(dest)
    facts = {
        "clip_id": key, "spec": source.spec, "source_kind": source.kind, "source": source.location,
        "source_id": source.source_id, "segment": [source.start, source.end], "event_hint": source.event_hint,
        "license": source.license, "title": provenance.get("title"), "source_stamp": stamp,
        "duration_s": round(info.duration, 3), "fps": round(info.fps, 3), "resolution": f"{info.width}x{info.height}",
        "codec": info.codec, "rotation": info.rotation, "variable_frame_rate": info.variable_frame_rate,
        "sha256": digest, "size_bytes": dest.stat().st_size, "path": str(dest),
    }
    write_json(sidecar, facts)
    return StepResult(facts, cached=False)


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def make_clip(layout: DataLayout, key: str, verify: bool = False) -> StepResult:
    """Resample ``raw/<key>.mp4`` to ``clips_4fps/<key>.mp4`` unless made before from the same raw bytes.

    A cached clip reuses its recorded check outcomes while the file is untouched (size and mtime), so a
    re-run decodes nothing; ``verify`` re-decodes a fresh encode with ffprobe (see ``transcode_4fps``)."""
    raw = read_json(layout.raw_dir / f"{key}.json")
    if raw is None or not layout.raw_clip(key).exists():
        raise VideoError(key, "raw clip missing: materialize raw_clips for this clip first")
    dest, sidecar = layout.clip(key), layout.clip_facts(key)
    old = read_json(sidecar)
    if old and dest.exists() and old.get("raw_sha256") == raw["sha256"] and old.get("format") == CLIP_FORMAT_VERSION:
        if old.get("file_stamp") != _stamp(dest):  # touched since it was checked: check it again
            old = {**old, "checks": [o.__dict__ for o in validate_clip(dest, raw["duration_s"])], "file_stamp": _stamp(dest)}
            write_json(sidecar, old)
        return StepResult(old, cached=True)
    info = transcode_4fps(layout.raw_clip(key), dest, key, source_duration=raw["duration_s"], verify=verify)
    facts = {
        "clip_id": key, "source_id": raw["source_id"], "raw_sha256": raw["sha256"], "format": CLIP_FORMAT_VERSION,
        "frames": info.nb_frames, "duration_s": round(info.duration, 3), "source_duration_s": raw["duration_s"],
        "fps": TARGET_FPS, "width": info.width, "height": info.height, "path": str(dest),
        "sha256": sha256_file(dest), "padded": _padding(raw["resolution"]),
        "checks": [o.__dict__ for o in validate_clip(dest, raw["duration_s"], info=info)], "file_stamp": _stamp(dest),
    }
    write_json(sidecar, facts)
    return StepResult(facts, cached=False)


def _padding(resolution: str) -> str:
    w, h = (int(x) for x in resolution.split("x"))
    if w * OUT_HEIGHT == h * OUT_WIDTH:
        return "none (source is 3:2)"
    return "pillarbox (black bars left/right)" if w * OUT_HEIGHT < h * OUT_WIDTH else "letterbox (black bars top/bottom)"


def is_current(layout: DataLayout, key: str) -> bool:
    """Whether both steps would return their cached result with no work: the raw file matches its
    source and the 4 fps clip, untouched since its checks, was made from that raw file and passed them."""
    try:
        source = load_source(layout, key)
    except VideoError:
        return False
    raw, dest = read_json(layout.raw_dir / f"{key}.json"), layout.raw_clip(key)
    clip, clip_path = read_json(layout.clip_facts(key)), layout.clip(key)
    return bool(
        raw and clip and dest.exists() and clip_path.exists()
        and raw.get("spec") == source.spec and raw.get("source_stamp") == _file_stamp(source)
        and dest.stat().st_size == raw.get("size_bytes")
        and clip.get("raw_sha256") == raw.get("sha256") and clip.get("format") == CLIP_FORMAT_VERSION
        and clip.get("file_stamp") == _stamp(clip_path) and all(c["passed"] for c in clip.get("checks", [{}]))
    )


def list_clips(layout: DataLayout) -> list[dict]:
    """Facts of every finished 4 fps clip (what downstream stages consume)."""
    out = []
    for sidecar in sorted(layout.clips_dir.glob("*.json")):
        facts = read_json(sidecar)
        if facts and Path(facts["path"]).exists():
            out.append(facts)
    return out


__all__ = ["register", "ingest_raw", "make_clip", "list_clips", "load_source", "transcode_args", "StepResult"]
