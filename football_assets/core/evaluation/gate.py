"""The regression gate: the new adapter against the previous one, scored on this very test split."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from football_assets.core.evaluation.scoring import headline
from football_assets.core.evaluation.store import adapter_snapshot, previous_report, reports_root, safe_name
from football_assets.core.fsutil import write_json


def previous_on_test(layout, model_version: str, splits_version: str, test: Sequence[dict], threshold: float,
                     score: Callable[[list[dict]], dict], answer: Callable[[Path, str], list[dict]]) -> dict | None:
    """The previous adapter (newest other report) as scored on exactly this test split, or None.

    Its own report counts when it was made on the same splits version, sample count and tIoU threshold;
    otherwise its kept weights are re-scored here with ``answer(adapter_dir, label)`` (cached per splits
    version under ``<reports>/evaluation/previous/``). Without kept weights the result says plainly that
    nothing comparable exists (``comparable: False``)."""
    from football_assets.core.fsutil import read_json

    prev = previous_report(layout, model_version)
    if not prev:
        return None
    out = {"model_version": prev.get("model_version"), "splits_version": prev.get("splits_version")}
    if (prev.get("splits_version") == splits_version and prev.get("n_test_samples") == len(test)
            and prev.get("threshold", 0.5) == threshold):
        return {**out, "headline": prev.get("headline", {}), "comparable": True,
                "how": f"its own report on the same test split ({splits_version})"}
    cache = reports_root(layout) / "previous" / f"{safe_name(out['model_version'])}-{safe_name(splits_version)}-{len(test)}.json"
    records = read_json(cache)
    if records is None:
        weights = adapter_snapshot(layout, out["model_version"])
        if not (weights / "adapter_config.json").exists():
            return {**out, "headline": None, "comparable": False,
                    "how": (f"was scored on splits {prev.get('splits_version')} ({prev.get('n_test_samples')} test "
                            f"samples) and its weights were not kept, so it cannot be scored on splits {splits_version}")}
        records = answer(weights, f"previous adapter {out['model_version']}")
        write_json(cache, records)
    return {**out, "headline": headline(score(records)), "comparable": True,
            "how": f"re-scored on the test split of splits {splits_version}"}

def regression_gate(report: dict, previous: dict | None, margin: float, key: str = "micro_f1") -> tuple[bool, str]:
    """Pass unless ``key`` dropped by more than ``margin`` against the previous adapter on the same test
    split (``previous``: see ``build_report``). With no previous adapter, or none scored on this test
    split, it passes and says that there was nothing comparable."""
    if not previous:
        return True, "no previous adapter report: nothing to compare against"
    if previous.get("comparable") is False:
        return True, f"nothing comparable: previous adapter {previous.get('model_version')} {previous.get('how', '')}".rstrip()
    new, old = report["headline"].get(key), previous.get("headline", {}).get(key)
    if old is None or new is None:
        return True, f"{key} undefined in one report (new {new}, previous {old})"
    ok = new >= old - margin
    verdict = "within" if ok else "beyond"
    how = f", {previous['how']}" if previous.get("how") else ""
    return ok, (f"{key} {new:.4f} vs previous {old:.4f} ({previous.get('model_version')}{how}): change {new - old:+.4f}, "
                f"{verdict} the allowed drop of {margin:.4f}")
