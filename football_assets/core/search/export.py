"""Search results -> one mp4 per moment (cut with a margin by ffmpeg) and a contact sheet of thumbnails.

Each cut is re-encoded (frame-accurate, ``ingest.video.cut_segment``) from the row's ``video`` (the 4 fps
clip or the analysed file), from ``start - margin`` to ``end + margin`` clamped to the video.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from football_assets.core.fsutil import atomic_path, write_json
from football_assets.core.ingest.video import VideoError, cut_segment, probe
from football_assets.core.search.query import Hit


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", text).strip("-").lower()[:40]


def moment_name(h: Hit) -> str:
    return f"{h.rank:03d}-{_slug(h.event)}-{_slug(h.clip_id)}-{h.start_s:.2f}s.mp4"


def cut_moment(h: Hit, dest: Path, margin: float) -> dict:
    """Cut one hit with ``margin`` seconds either side; returns the planned span and the file."""
    video = Path(h.video)
    if not video.exists():
        raise VideoError(h.clip_id, f"video {video} of this search result does not exist (moved or deleted?)")
    duration = probe(video, h.clip_id).duration
    start, end = max(0.0, h.start_s - margin), min(duration, h.end_s + margin)
    cut_segment(video, dest, start, end, f"{h.clip_id} {h.event} {h.start_s:.2f}-{h.end_s:.2f} s")
    return {"file": str(dest), "video": str(video), "cut_start_s": round(start, 3), "cut_end_s": round(end, 3),
            "expected_duration_s": round(end - start, 3)}


def thumbnail(video: Path, at: float, dest: Path) -> None:
    """One frame of ``video`` at ``at`` seconds as PNG."""
    proc = subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{max(at, 0.0):.3f}", "-i", str(video),
                           "-frames:v", "1", str(dest)], capture_output=True, text=True)
    if proc.returncode != 0 or not dest.exists():
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise VideoError(video.name, f"thumbnail at {at:.2f} s failed: {lines[-1] if lines else 'no frame decoded'}")


def contact_sheet(items: Sequence[tuple[Path, str]], dest: Path, columns: int = 4) -> None:
    """A grid of thumbnails, each captioned, as one PNG (matplotlib, already a dependency of the report)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(items) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (png, caption) in zip(axes.flat, items):
        ax.imshow(mpimg.imread(str(png)))
        ax.set_title(caption, fontsize=7, wrap=True)
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def export(hits: Sequence[Hit], out_dir: str | Path, margin: float = 1.0,
           progress: Callable | None = None) -> dict:
    """Cut every hit to ``out_dir/<rank>-<class>-<clip>-<start>.mp4``, write ``contact_sheet.png`` and
    ``results.json`` (hits with their files). A hit whose video is gone fails the export naming it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not hits:
        raise VideoError("search", "nothing to export: the search returned no results")
    records, thumbs = [], []
    with tempfile.TemporaryDirectory(prefix="contact-") as tmp:
        for h in (progress(hits) if progress else hits):
            cut = cut_moment(h, out / moment_name(h), margin)
            png = Path(tmp) / f"{h.rank:03d}.png"
            thumbnail(Path(h.video), (h.start_s + h.end_s) / 2, png)
            conf = "" if h.confidence is None else f" {h.confidence:.2f}"
            thumbs.append((png, f"#{h.rank} {h.event}{conf} ({h.source})\n{h.clip_id} {h.start_s:.1f}-{h.end_s:.1f} s"))
            records.append({**h.to_dict(), **cut})
        contact_sheet(thumbs, out / "contact_sheet.png")
    write_json(out / "results.json", records)
    return {"clips": [r["file"] for r in records], "contact_sheet": str(out / "contact_sheet.png"),
            "results": str(out / "results.json")}
