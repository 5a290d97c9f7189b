"""Is there enough annotation to train? Counted before the downstream graph runs, so that the main command
can stop cleanly on new footage and say what comes next instead of failing inside ``sft_splits``.

A clip counts as annotated when its ground truth exists (a demo clip: the generator's; any clip: a submitted
annotation in a Label Studio export under ``<data>/labels/`` or on the configured server). Training needs
annotated clips from at least ``MIN_MATCHES`` source matches, one each for train, val and test
(``core/dataset/assign.py``: clips of one match never straddle splits).
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_MATCHES = 3


@dataclass(frozen=True)
class Readiness:
    clips: int
    annotated_clips: int
    annotated_matches: int

    @property
    def waiting(self) -> int:
        """Clips nobody has annotated yet."""
        return self.clips - self.annotated_clips

    @property
    def ready(self) -> bool:
        return self.annotated_matches >= MIN_MATCHES


def readiness(clips: list[dict], annotated: set[str]) -> Readiness:
    """``clips``: 4 fps clip facts (``catalog.list_clips``); ``annotated``: the clip ids with ground truth."""
    done = [c for c in clips if c["clip_id"] in annotated]
    return Readiness(len(clips), len(done), len({c.get("source_id") or c["clip_id"] for c in done}))


def annotated_clip_ids(layout, clips: list[dict], exported_tasks=None) -> set[str]:
    """Clip ids with ground truth: demo clips (the generator knows their events) and clips with a submitted
    annotation among ``exported_tasks`` (a Label Studio export, parsed), else among the export files in
    ``<data>/labels/``."""
    from football_assets.core.annotation import snapshots
    from football_assets.core.ingest.catalog import load_source

    out = {c["clip_id"] for c in clips if load_source(layout, c["clip_id"]).kind == "demo"}
    tasks = exported_tasks if exported_tasks is not None else snapshots.read_export_dir(layout.labels_dir)
    return out | {t.clip_id for t in tasks if t.annotations}
