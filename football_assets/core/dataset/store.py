"""SFT split versions on disk: write one version atomically, read it back, point ``LATEST`` at it.

Files (common.md interface 2): ``<data>/splits/<version>/{train,val,test}.jsonl``, ``manifest.json``,
``summary.csv``, the ShareGPT / LLaMA-Factory export ``llamafactory/{train.json,dataset_info.json}``,
and ``<data>/splits/LATEST`` naming the version (moved only after the checks pass).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from football_assets.core import prompts
from football_assets.core.dataset.assign import SPLITS
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.fsutil import atomic_dir, atomic_path, read_json, read_jsonl

FORMAT_VERSION = "sft-splits-v2"  # bump when the sample format or the assignment rule changes
NO_EVENT = "(no event)"


def summary_frame(splits: dict[str, list[dict]]) -> pd.DataFrame:
    """Rows: event instances per class, clips with no event, then clip/source/sample counts; columns: splits."""
    rows: dict[str, dict[str, int]] = {}
    for s in SPLITS:
        col: dict[str, int] = {c: 0 for c in EVENT_CLASSES}
        col[NO_EVENT] = 0
        grounding = negatives = events_samples = free_text = 0
        for x in splits.get(s, []):
            if x["task"] == "events":
                events_samples += 1
                for e in x["target"]:
                    col[e["event"]] += 1
                col[NO_EVENT] += not x["target"]
            elif x["task"] == prompts.FREE_TEXT_TASK:
                free_text += 1
            elif x["target"].get("occurs", True):
                grounding += 1
            else:
                negatives += 1
        col["clips"] = len({x["clip_id"] for x in splits.get(s, [])})
        col["sources"] = len({x["source_id"] for x in splits.get(s, [])})
        col["events samples"] = events_samples
        col["grounding samples"] = grounding
        col["hard-negative samples"] = negatives
        col["free-text grounding samples"] = free_text
        col["all samples"] = len(splits.get(s, []))
        rows[s] = col
    df = pd.DataFrame(rows)
    df["total"] = df.sum(axis=1)
    df.index.name = "class / count"
    return df


def to_markdown(df: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency)."""
    head = [df.index.name or ""] + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(df.columns)) + "|"]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [str(v) for v in row.tolist()]) + " |")
    return "\n".join(lines)


def to_sharegpt(sample: dict) -> dict:
    """One LLaMA-Factory ShareGPT video record (``<video>`` placeholder in the user text)."""
    msgs = sample["messages"]
    text = next(p["text"] for p in msgs[1]["content"] if p["type"] == "text")
    return {"messages": [{"role": "user", "content": "<video>" + text},
                         {"role": "assistant", "content": msgs[2]["content"]}],
            "system": msgs[0]["content"], "videos": [sample["video"]]}


LLAMAFACTORY_NAME = "football_events_train"


def write_version(dest: Path, splits: dict[str, list[dict]], manifest: dict) -> Path:
    """Write one complete version directory atomically (a reader never sees half of it)."""
    with atomic_dir(dest) as tmp:
        for s in SPLITS:
            with open(tmp / f"{s}.jsonl", "w") as f:
                for x in splits[s]:
                    f.write(json.dumps(x, ensure_ascii=False, sort_keys=False) + "\n")
        lf = tmp / "llamafactory"
        lf.mkdir()
        (lf / "train.json").write_text(json.dumps([to_sharegpt(x) for x in splits["train"]], ensure_ascii=False, indent=1))
        (lf / "dataset_info.json").write_text(json.dumps({LLAMAFACTORY_NAME: {
            "file_name": "train.json", "formatting": "sharegpt",
            "columns": {"messages": "messages", "system": "system", "videos": "videos"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
        }}, indent=2))
        summary_frame(splits).to_csv(tmp / "summary.csv")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    return dest


def read_version(path: Path) -> dict[str, list[dict]]:
    return {s: read_jsonl(Path(path) / f"{s}.jsonl") for s in SPLITS}


def set_latest(splits_dir: Path, version: str) -> None:
    with atomic_path(Path(splits_dir) / "LATEST", suffix="") as tmp:
        tmp.write_text(version + "\n")


class Splits(dict):
    """{split: [sample, ...]} plus the version name and directory it was read from."""

    version: str
    path: Path
    manifest: dict


def load_latest(layout) -> Splits:
    """The splits ``<data>/splits/LATEST`` names (interface 2); a clear error when there are none."""
    latest = Path(layout.splits_dir) / "LATEST"
    if not latest.exists():
        raise FileNotFoundError(f"no SFT splits yet ({latest} missing): materialize the sft_splits asset first")
    version = latest.read_text().strip()
    path = Path(layout.splits_dir) / version
    if not path.is_dir():
        raise FileNotFoundError(f"{latest} names version {version!r} but {path} does not exist")
    out = Splits(read_version(path))
    out.version, out.path = version, path
    out.manifest = read_json(path / "manifest.json", {}) or {}
    return out


def version_of(*parts: object) -> str:
    """A short content hash of JSON-able parts (the data version and the version directory name)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
