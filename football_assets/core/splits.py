"""Train/val/test splits of SFT samples: grouped by source, stable, stratified where possible; files; checks.

Assignment rule (``assign_splits``):

1. Each source (match) gets a number u in [0, 1) from a hash of (seed, source_id): test below
   ``test``, val below ``test + val``, train above. A source's base split never depends on any other
   source, so adding a clip moves nothing else (no global shuffle).
2. Repairs, each moving as few sources as possible, always the one nearest the boundary (by u):
   every class present anywhere gets into train; no split stays empty; then, where the data
   allow (a class in >= 3 sources), val and test get each class, by moving a train source in while the
   split is below its share of sources (rounded up), else by swapping it for a member whose classes
   stay covered.

Stability: a new source never changes another source's base split; only a repair whose outcome it
changes can move one (measured on the 64-clip demo with 10 seeds: one new match moved an existing
source in about 4 of 100 trials). There is deliberately no upper cap on a split's size: trimming to a
cap moved existing sources three times as often.

All clips of one source land in one split, so segments of a match never straddle two splits.

Files (common.md interface 2): ``<data>/splits/<version>/{train,val,test}.jsonl``, ``manifest.json``,
``summary.csv``, the ShareGPT / LLaMA-Factory export ``llamafactory/{train.json,dataset_info.json}``,
and ``<data>/splits/LATEST`` naming the version (moved only after the checks pass).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from . import prompts
from .events import EVENT_CLASSES, TARGET_FPS
from .fsutil import atomic_dir, atomic_path, read_json

SPLITS = ("train", "val", "test")
FORMAT_VERSION = "sft-splits-v1"  # bump when the sample format or the assignment rule changes
NO_EVENT = "(no event)"


@dataclass(frozen=True)
class SplitConfig:
    seed: int = 0
    val: float = 0.15
    test: float = 0.15

    def __post_init__(self) -> None:
        if not (0 < self.val < 1 and 0 < self.test < 1 and self.val + self.test < 1):
            raise ValueError(f"split fractions must be in (0, 1) with val + test < 1; got val={self.val}, test={self.test}")

    def to_dict(self) -> dict:
        return asdict(self)


class SplitError(ValueError):
    """The samples cannot be split as asked (e.g. fewer than three sources)."""


# --------------------------------------------------------------------------------------------
# Assignment


def unit(seed: int, source_id: str) -> float:
    """The source's fixed position in [0, 1): depends on nothing but the seed and its id."""
    h = hashlib.sha256(f"split:{seed}:{source_id}".encode()).hexdigest()
    return int(h[:15], 16) / 16 ** 15


def base_split(u: float, cfg: SplitConfig) -> str:
    return "test" if u < cfg.test else ("val" if u < cfg.test + cfg.val else "train")


def assign_splits(groups: dict[str, set[str]], cfg: SplitConfig = SplitConfig()) -> dict[str, str]:
    """source_id -> split for sources with the given class sets (see the module docstring)."""
    if len(groups) < 3:
        raise SplitError(f"need at least 3 sources (matches) to make train, val and test splits; got {len(groups)}: "
                         f"{sorted(groups)}")
    u = {g: unit(cfg.seed, g) for g in groups}
    split = {g: base_split(u[g], cfg) for g in groups}
    members = lambda s: [g for g in groups if split[g] == s]  # noqa: E731
    all_classes = [c for c in EVENT_CLASSES if any(c in cl for cl in groups.values())]

    def train_count(c: str) -> int:
        return sum(c in groups[g] for g in members("train"))

    def can_leave_train(g: str) -> bool:
        return all(train_count(c) >= 2 for c in groups[g])

    # every class into train: take the holder nearest to the train range (largest u), but do not empty a split
    for c in all_classes:
        if train_count(c) == 0:
            holders = [g for g in groups if split[g] != "train" and c in groups[g]]
            safe = [g for g in holders if len(members(split[g])) > 1] or holders
            split[max(safe, key=lambda g: (u[g], g))] = "train"
    # no split empty: train takes the source nearest to it (largest u); val and test take the train source
    # nearest to their range (smallest u), or with too few in train, one from the other held-out split
    if not members("train"):
        split[max(groups, key=lambda g: (u[g], g))] = "train"
    for s in ("test", "val"):
        if not members(s):
            train, other = members("train"), members("val" if s == "test" else "test")
            if len(train) >= 2:
                pool = [g for g in train if can_leave_train(g)] or train
            else:
                pool = other if len(other) >= 2 else []
            if not pool:
                raise SplitError(f"cannot fill {s}: every other split has a single source")
            split[min(pool, key=lambda g: (u[g], g))] = s
    # stratify where possible: each class into val and test if >= 3 sources have it; when the split is at
    # its share, swap: the incoming train source replaces a member whose classes stay covered
    for s, frac in (("test", cfg.test), ("val", cfg.val)):
        cap = math.ceil(frac * len(groups))
        for c in sorted(all_classes, key=lambda c: (sum(c in cl for cl in groups.values()), EVENT_CLASSES.index(c))):
            if sum(c in cl for cl in groups.values()) < 3 or any(c in groups[g] for g in members(s)):
                continue
            for g_in in sorted((g for g in members("train") if c in groups[g] and can_leave_train(g)),
                               key=lambda g: (u[g], g)):
                if len(members(s)) < cap:
                    split[g_in] = s
                    break
                covered = lambda out: all(  # noqa: E731
                    k in groups[g_in] or any(k in groups[o] for o in members(s) if o != out) for k in groups[out])
                outs = [o for o in members(s) if covered(o)]
                if outs:
                    g_out = max(outs, key=lambda g: (u[g], g))
                    split[g_in], split[g_out] = s, "train"
                    break
    return split


def split_samples(samples: list[dict], assignment: dict[str, str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for sample in samples:
        out[assignment[sample["source_id"]]].append(sample)
    return out


# --------------------------------------------------------------------------------------------
# Summary


def summary_frame(splits: dict[str, list[dict]]) -> pd.DataFrame:
    """Rows: event instances per class, clips with no event, then clip/source/sample counts; columns: splits."""
    rows: dict[str, dict[str, int]] = {}
    for s in SPLITS:
        col: dict[str, int] = {c: 0 for c in EVENT_CLASSES}
        col[NO_EVENT] = 0
        grounding = negatives = events_samples = 0
        for x in splits.get(s, []):
            if x["task"] == "events":
                events_samples += 1
                for e in x["target"]:
                    col[e["event"]] += 1
                col[NO_EVENT] += not x["target"]
            elif x["target"].get("occurs", True):
                grounding += 1
            else:
                negatives += 1
        col["clips"] = len({x["clip_id"] for x in splits.get(s, [])})
        col["sources"] = len({x["source_id"] for x in splits.get(s, [])})
        col["events samples"] = events_samples
        col["grounding samples"] = grounding
        col["hard-negative samples"] = negatives
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


# --------------------------------------------------------------------------------------------
# Files


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


def read_jsonl(path: Path) -> list[dict]:
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
    return out


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


# --------------------------------------------------------------------------------------------
# Checks (the blocking asset checks of sft_splits; plain functions so tests call them directly)


@dataclass(frozen=True)
class Outcome:
    name: str
    passed: bool
    description: str
    metadata: dict


CHECKS = {
    "no_source_leakage": "No source (match), clip or identical video appears in two splits.",
    "all_classes_in_train": "Every event class occurs in train; the check names any missing one.",
    "videos_exist_4fps": f"Every referenced video exists and probes as {TARGET_FPS} fps.",
    "answers_round_trip": "Every assistant answer parses and formats back to the same text and target.",
    "val_test_nonempty": "val and test each have at least one sample.",
}


def _first(items: Iterable[str], n: int = 5) -> str:
    items = list(items)
    return ", ".join(items[:n]) + (f" (+{len(items) - n} more)" if len(items) > n else "")


def check_no_leakage(splits: dict[str, list[dict]], clip_sha256: dict[str, str] | None = None) -> Outcome:
    where: dict[str, dict[str, set[str]]] = {"source": {}, "clip": {}, "video": {}}
    for s in SPLITS:
        for x in splits.get(s, []):
            where["source"].setdefault(x["source_id"], set()).add(s)
            where["clip"].setdefault(x["clip_id"], set()).add(s)
            sha = (clip_sha256 or {}).get(x["clip_id"])
            if sha:
                where["video"].setdefault(sha, set()).add(s)
    leaks = {kind: sorted(f"{k[:16] if kind == 'video' else k} in {'+'.join(s for s in SPLITS if s in v)}"
                          for k, v in d.items() if len(v) > 1)
             for kind, d in where.items()}
    bad = {k: v for k, v in leaks.items() if v}
    desc = "; ".join(f"{kind}s in two splits: {_first(v)}" for kind, v in bad.items()) or \
        f"{len(where['source'])} sources, each in one split"
    return Outcome("no_source_leakage", not bad, desc, {k: len(v) for k, v in leaks.items()})


def train_classes(samples: list[dict]) -> set[str]:
    found = set()
    for x in samples:
        if x["task"] == "events":
            found.update(e["event"] for e in x["target"])
        elif x["target"].get("occurs", True):
            found.add(x["target"]["event"])
    return found


def check_class_coverage(splits: dict[str, list[dict]], classes: Iterable[str] = EVENT_CLASSES) -> Outcome:
    found = train_classes(splits.get("train", []))
    missing = [c for c in classes if c not in found]
    desc = f"missing from train: {', '.join(missing)}" if missing else "all classes occur in train"
    return Outcome("all_classes_in_train", not missing, desc, {"missing": ", ".join(missing) or "none"})


def check_videos(splits: dict[str, list[dict]], probe_fn=None) -> Outcome:
    from .video import VideoError, probe  # ffprobe only when the check runs

    probe_fn = probe_fn or probe
    videos: dict[str, set] = {}
    for s in SPLITS:
        for x in splits.get(s, []):
            videos.setdefault(x["video"], set()).add(x.get("fps"))
            user = x["messages"][1]["content"]
            if not any(p.get("type") == "video" and p.get("video") == x["video"] for p in user):
                videos.setdefault(x["video"], set()).add(f"user turn video differs in {x['id']}")
    problems = []
    for path, declared in sorted(videos.items()):
        if declared != {TARGET_FPS}:
            problems.append(f"{path}: declared fps {sorted(map(str, declared))}")
            continue
        try:
            info = probe_fn(path)
        except VideoError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if abs(info.fps - TARGET_FPS) > 1e-3 or info.variable_frame_rate:
            problems.append(f"{path}: {info.fps:.3f} fps, expected {TARGET_FPS}")
    desc = f"{len(problems)} bad video(s): {_first(problems, 3)}" if problems else f"{len(videos)} videos, all {TARGET_FPS} fps"
    return Outcome("videos_exist_4fps", not problems, desc, {"videos": len(videos), "bad": len(problems)})


def answer_problem(sample: dict) -> str | None:
    """Why this sample's assistant answer is bad, or None: structure, parse, target match, round trip."""
    msgs = sample.get("messages") or []
    if [m.get("role") for m in msgs] != ["system", "user", "assistant"]:
        return f"{sample.get('id')}: roles {[m.get('role') for m in msgs]}, expected system/user/assistant"
    answer = msgs[2]["content"]
    try:
        parsed = prompts.parse_answer(sample["task"], answer)
        body = prompts.extract_answer(answer)
    except (prompts.AnswerParseError, ValueError) as exc:
        return f"{sample['id']}: {exc}"
    if parsed != sample["target"]:
        return f"{sample['id']}: parsed answer {parsed} differs from target {sample['target']}"
    again = prompts.extract_answer(prompts.format_target(sample["task"], parsed))
    if again != body:
        return f"{sample['id']}: answer does not round-trip: {body[:60]!r} -> {again[:60]!r}"
    return None


def check_answers(splits: dict[str, list[dict]]) -> Outcome:
    problems = [p for s in SPLITS for x in splits.get(s, []) if (p := answer_problem(x))]
    n = sum(len(v) for v in splits.values())
    desc = f"{len(problems)} bad answer(s): {_first(problems, 3)}" if problems else f"all {n} answers parse and round-trip"
    return Outcome("answers_round_trip", not problems, desc, {"samples": n, "bad": len(problems)})


def check_nonempty(splits: dict[str, list[dict]]) -> Outcome:
    empty = [s for s in SPLITS if not splits.get(s)]
    desc = f"empty split(s): {', '.join(empty)}" if empty else ", ".join(f"{s}: {len(splits[s])}" for s in SPLITS)
    return Outcome("val_test_nonempty", not empty, desc, {s: len(splits.get(s, [])) for s in SPLITS})


def run_checks(splits: dict[str, list[dict]], clip_sha256: dict[str, str] | None = None) -> list[Outcome]:
    return [check_no_leakage(splits, clip_sha256), check_class_coverage(splits), check_videos(splits),
            check_answers(splits), check_nonempty(splits)]
