"""Where reports live (``<data>/reports/evaluation/<model_version>/``): writing one, finding the previous one,
and keeping the adapter weights a report scored so a later gate can re-score them."""

from __future__ import annotations

import json
from pathlib import Path

from football_assets.core.evaluation.plots import plot_confidence, plot_confusion
from football_assets.core.evaluation.render import to_html, to_markdown
from football_assets.core.fsutil import atomic_path, write_json


def reports_root(layout) -> Path:
    return Path(layout.reports_dir) / "evaluation"

def safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name)) or "unnamed"

def previous_report(layout, model_version: str) -> dict | None:
    """The newest stored report of a different model version (the previous adapter), or None."""
    from football_assets.core.fsutil import read_json

    found = []
    for p in reports_root(layout).glob("*/report.json"):
        try:
            r = read_json(p)
        except ValueError:
            continue
        if r and r.get("model_version") != model_version:
            found.append(r)
    return max(found, key=lambda r: r.get("created_at", "")) if found else None

def adapter_snapshot(layout, model_version: str) -> Path:
    """Where the weights a report scored are kept (``<report dir>/adapter``), so that a later adapter's
    gate can re-score them on its own test split."""
    return reports_root(layout) / safe_name(model_version) / "adapter"

def keep_adapter(layout, adapter_dir: Path, model_version: str) -> Path:
    """Snapshot ``adapter_dir`` beside the report (hard links where the filesystem allows: the trainer
    replaces adapter directories whole, it never rewrites a file in place)."""
    import os
    import shutil

    from football_assets.core.fsutil import atomic_dir

    dest = adapter_snapshot(layout, model_version)
    if (dest / "adapter_config.json").exists():
        return dest

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    with atomic_dir(dest) as tmp:
        shutil.copytree(adapter_dir, tmp, dirs_exist_ok=True, copy_function=link_or_copy)
    return dest

def write_report(report: dict, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md, report.html, confusion.png, reliability.png and confidence_pr.png into
    ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / n for k, n in (("json", "report.json"), ("markdown", "report.md"),
                                         ("html", "report.html"), ("confusion", "confusion.png"),
                                         ("reliability", "reliability.png"), ("pr_curves", "confidence_pr.png"))}
    plot_confusion(report["metrics"]["confusion"], paths["confusion"])
    plot_confidence(report["metrics"].get("confidence") or {}, paths["reliability"], paths["pr_curves"])
    write_json(paths["json"], report)
    for key, text in (("markdown", to_markdown(report)), ("html", to_html(report, paths["confusion"]))):
        with atomic_path(paths[key]) as tmp:
            tmp.write_text(text)
    return paths

def save_report(layout, rep: dict, records: dict[str, list[dict]]) -> dict[str, Path]:
    """Write the report under ``<data>/reports/evaluation/<model_version>/`` (+ the adapter's raw answers with
    their confidence scores: ``answers.jsonl`` for test, ``answers_val.jsonl`` for val, where choices such as
    the calibration are made; LATEST)."""
    out = reports_root(layout) / safe_name(rep["model_version"])
    paths = write_report(rep, out)
    if rep.get("adapter_dir") and (Path(rep["adapter_dir"]) / "adapter_config.json").exists():
        paths["adapter"] = keep_adapter(layout, Path(rep["adapter_dir"]), rep["model_version"])
    for split, name in (("test", "answers"), ("val", "answers_val")):
        if split not in records:
            continue
        paths[name] = out / f"{name}.jsonl"
        with atomic_path(paths[name]) as tmp:
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[split]))
    if rep.get("stages"):
        paths["stages"] = out / "spotter_comparison.json"
        write_json(paths["stages"], rep["stages"])
    with atomic_path(reports_root(layout) / "LATEST", suffix="") as tmp:
        tmp.write_text(out.name + "\n")
    return paths
