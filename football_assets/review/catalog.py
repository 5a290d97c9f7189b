"""What there is to review under a data directory, and one item's events for the page.

Items: every kept analysis (``<data>/analyses/*.json``, ``analyze --index`` and the page's own jobs), any
extra ``analyze --out`` file named on the command line, and every clip with annotations (the latest
snapshot) and/or predictions (``<data>/predictions/latest.json``). Ids are ``analysis:<file stem>``,
``file:<n>`` and ``clip:<clip id>``. A missing or corrupt analysis becomes an item with an ``error`` (the page
shows it, the log has it) instead of failing the listing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from football_assets.core.fsutil import read_json
from football_assets.core.layout import DataLayout

log = logging.getLogger("football_assets.review")


class ItemError(ValueError):
    """An item that cannot be shown: unknown id, or its analysis file is missing or corrupt."""


@dataclass
class Item:
    id: str
    kind: str  # analysis | file | clip
    title: str
    video: str = ""
    duration: float | None = None
    truth: list[dict] = field(default_factory=list)
    model: list[dict] = field(default_factory=list)
    model_version: str = ""
    mode: str = ""
    offset: float = 0.0  # where the video starts in its match
    task_id: int | None = None
    error: str = ""

    def summary(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "n_truth": len(self.truth),
                "n_model": len(self.model), "error": self.error, "mode": self.mode}


def _events(raw, with_confidence: bool) -> list[dict]:
    out = []
    for e in raw:
        ev = {"event": str(e["event"]), "start_time": float(e["start_time"]), "end_time": float(e["end_time"]),
              "description": str(e.get("description") or "")}
        if with_confidence:
            ev["confidence"] = float(e["confidence"]) if e.get("confidence") is not None else 1.0
        out.append(ev)
    return sorted(out, key=lambda e: (e["start_time"], e["end_time"]))


def read_analysis(path: Path, item_id: str, kind: str) -> Item:
    """An ``analyze --out`` file as an item; a missing or corrupt file gives an item with ``error`` (logged)."""
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or "video" not in data or not isinstance(data.get("events"), list):
            raise ValueError("not an `analyze --out` result (needs 'video' and a list of 'events')")
        events = _events(data["events"], True)
    except FileNotFoundError:
        err = f"analysis file {path} does not exist"
    except (OSError, UnicodeDecodeError) as exc:
        err = f"analysis file {path} cannot be read: {exc}"
    except json.JSONDecodeError as exc:
        err = f"analysis file {path} is not valid JSON ({exc.msg}, line {exc.lineno})"
    except KeyError as exc:
        err = f"analysis file {path} is corrupt: an event lacks {exc}"
    except (ValueError, TypeError) as exc:
        err = f"analysis file {path} is corrupt: {exc}"
    else:
        video = str(data["video"])
        return Item(item_id, kind, Path(video).name, video, data.get("duration"), [], events,
                    str(data.get("model_version") or data.get("spotter_version") or ""), str(data.get("mode") or "vlm"))
    log.error("review: %s", err)
    return Item(item_id, kind, path.name, error=err)


class Catalog:
    """The items of one data directory (re-read on each call: the page sees new analyses and snapshots)."""

    def __init__(self, layout: DataLayout, extra_analyses: list[str | Path] = ()):
        self.layout = layout
        self.extra = [Path(p) for p in extra_analyses]

    def analyses(self) -> list[Item]:
        items = [read_analysis(f, f"analysis:{f.stem}", "analysis") for f in sorted(self.layout.analyses_dir.glob("*.json"))]
        items += [read_analysis(p, f"file:{i}", "file") for i, p in enumerate(self.extra)]
        return items

    def _truth(self) -> tuple[dict[str, list[dict]], dict[str, int]]:
        from football_assets.core.annotation.snapshots import load_latest

        try:
            snap = load_latest(self.layout)
        except FileNotFoundError:
            return {}, {}
        tasks = {str(t["clip_id"]): int(t["task_id"]) for t in snap.tasks.to_dict("records")}
        truth: dict[str, list[dict]] = {c: [] for c in tasks}
        for e in snap.events.to_dict("records"):
            truth.setdefault(str(e["clip_id"]), []).append(e)
        return {c: _events(v, False) for c, v in truth.items()}, tasks

    def _predictions(self) -> tuple[dict[str, list[dict]], str]:
        try:
            preds = read_json(self.layout.predictions_file) or {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            log.error("review: predictions %s are not valid JSON (%s); showing none", self.layout.predictions_file, exc)
            return {}, ""
        return ({c: _events(v, True) for c, v in (preds.get("clips") or {}).items()},
                str(preds.get("model_version") or ""))

    def clips(self) -> list[Item]:
        from football_assets.core.search.library import clip_context

        truth, tasks = self._truth()
        model, version = self._predictions()
        items = []
        for clip_id in sorted(set(truth) | set(model)):
            ctx = clip_context(self.layout, clip_id)
            facts = read_json(self.layout.clip_facts(clip_id)) or {}
            items.append(Item(f"clip:{clip_id}", "clip", clip_id, ctx["video"], facts.get("duration_s"),
                              truth.get(clip_id, []), model.get(clip_id, []), version if clip_id in model else "",
                              "predictions" if clip_id in model else "", ctx["offset"], tasks.get(clip_id)))
        return items

    def items(self) -> list[Item]:
        return self.analyses() + self.clips()

    def get(self, item_id: str) -> Item:
        if item_id.startswith("clip:"):
            found = [i for i in self.clips() if i.id == item_id]
        elif item_id.startswith("file:"):
            found = [i for i in self.analyses() if i.id == item_id]
        else:
            stem = item_id.removeprefix("analysis:")
            path = self.layout.analyses_dir / f"{stem}.json"
            kept = item_id.startswith("analysis:") and "/" not in stem and path.is_file()
            found = [read_analysis(path, item_id, "analysis")] if kept else []
        if not found:
            raise ItemError(f"no review item {item_id!r}")
        return found[0]

    def by_video(self) -> dict[str, str]:
        """Resolved video path -> item id (search results open the item showing their video)."""
        out: dict[str, str] = {}
        for it in self.items():
            if it.video and not it.error:
                out.setdefault(str(Path(it.video).resolve()), it.id)
        return out
