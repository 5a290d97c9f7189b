"""The blocking asset checks of ``sft_splits``: plain functions over a split version, so tests call them
directly. Each check's description sits in ``CHECKS`` beside it."""

from __future__ import annotations

from typing import Iterable

from football_assets.core import prompts
from football_assets.core.checks import CheckResult
from football_assets.core.dataset.assign import SPLITS
from football_assets.core.dataset.sft import sample_classes
from football_assets.core.events import EVENT_CLASSES, TARGET_FPS

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


def check_no_leakage(splits: dict[str, list[dict]], clip_sha256: dict[str, str] | None = None) -> CheckResult:
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
    return CheckResult("no_source_leakage", not bad, desc, {k: len(v) for k, v in leaks.items()})


def check_class_coverage(splits: dict[str, list[dict]], classes: Iterable[str] = EVENT_CLASSES) -> CheckResult:
    found = set().union(*map(sample_classes, splits.get("train", [])))
    missing = [c for c in classes if c not in found]
    desc = f"missing from train: {', '.join(missing)}" if missing else "all classes occur in train"
    return CheckResult("all_classes_in_train", not missing, desc, {"missing": ", ".join(missing) or "none"})


def check_videos(splits: dict[str, list[dict]], probe_fn=None) -> CheckResult:
    from football_assets.core.ingest.video import VideoError, probe  # ffprobe only when the check runs

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
    return CheckResult("videos_exist_4fps", not problems, desc, {"videos": len(videos), "bad": len(problems)})


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


def check_answers(splits: dict[str, list[dict]]) -> CheckResult:
    problems = [p for s in SPLITS for x in splits.get(s, []) if (p := answer_problem(x))]
    n = sum(len(v) for v in splits.values())
    desc = f"{len(problems)} bad answer(s): {_first(problems, 3)}" if problems else f"all {n} answers parse and round-trip"
    return CheckResult("answers_round_trip", not problems, desc, {"samples": n, "bad": len(problems)})


def check_nonempty(splits: dict[str, list[dict]]) -> CheckResult:
    empty = [s for s in SPLITS if not splits.get(s)]
    desc = f"empty split(s): {', '.join(empty)}" if empty else ", ".join(f"{s}: {len(splits[s])}" for s in SPLITS)
    return CheckResult("val_test_nonempty", not empty, desc, {s: len(splits.get(s, [])) for s in SPLITS})


def run_checks(splits: dict[str, list[dict]], clip_sha256: dict[str, str] | None = None) -> list[CheckResult]:
    return [check_no_leakage(splits, clip_sha256), check_class_coverage(splits), check_videos(splits),
            check_answers(splits), check_nonempty(splits)]
