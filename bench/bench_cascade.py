"""Cascade figures: spotter -> VLM vs VLM-only, on the held-out long match and on the demo test split.

Builds demo clips through the real ingest and split builder (``bench_spotter.build``), trains the small
spotter and a small tiny-model LoRA adapter on the same splits version, then on the held-out match
(``bench_spotter.MATCH_SEED``, never used to plan a training clip) runs ``analyze``'s VLM-only path and
its cascade path on the same video and measures: share of VLM windows the cascade sends, share of true
events inside a sent window, cascade / VLM-only wall time, event F1 of both. On the demo test split: the
report's VLM-only / spotter / cascade comparison. Writes the "## Cascade" section of bench/RESULTS.md.

Usage: ``python bench/bench_cascade.py [--clips 32] [--adapter-epochs 8] [--match-minutes 10]``, or with the
models a demo run trained (``make demo``, or the last seed of ``bench_quality.py``), nothing trained here:
``python bench/bench_cascade.py --data bench/out/quality/data``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_spotter import MATCH_SEED, build, train  # noqa: E402

from football_assets.core.annotation import demo_labels  # noqa: E402
from football_assets.core.evaluation import answers  # noqa: E402
from football_assets.core.evaluation import cascade_report as spotter_report  # noqa: E402
from football_assets.core.evaluation.scoring import attach_confidences  # noqa: E402
from football_assets.core.inference import analyze, calibration, cascade_run  # noqa: E402
from football_assets.core.metrics import TIGHT_TOLERANCES, detection_scores, soccernet_average_map  # noqa: E402
from football_assets.core.spotter.infer import Spotter  # noqa: E402


def train_adapter(splits_dir: Path, out: Path, epochs: float, pretrain_steps: int) -> dict:
    """The tiny model's LoRA adapter, with the demo asset's settings except the (shorter) length."""
    cfg = {"model": "tiny", "splits_dir": str(splits_dir), "splits_version": "bench", "output_dir": str(out),
           "adapter_dir": str(out / "adapter"), "num_train_epochs": epochs, "learning_rate": 2e-3, "lora_r": 64,
           "lora_alpha": 128, "per_device_train_batch_size": 4, "save_steps": 10_000, "logging_steps": 10,
           "demo_pretrain_steps": pretrain_steps, "seed": 0}
    path = out.parent / "adapter_cfg.json"
    path.write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_PIPES_CONTEXT"}
    env["PYTHONPATH"] = str(ROOT)
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "football_assets.core.training.train", "--config", str(path)], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return {**cfg, "wall_s": time.time() - t0}


def covered(windows, t: float) -> bool:
    return any(s <= t <= e for s, e in windows)


def match_figures(spotter: Spotter, predictor, version: str, tmp: Path, minutes: float, max_new_tokens: int) -> dict:
    m = demo_labels.write_match(tmp / "match", minutes, MATCH_SEED)
    truth = demo_labels.read_truth(m["labels"])
    duration = m["clip"].duration
    t0 = time.perf_counter()
    vlm = analyze.analyze_video(m["video"], predictor, version, 8.0, progress=False, max_new_tokens=max_new_tokens)
    vlm_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    casc = cascade_run.cascade_video(m["video"], spotter, predictor, version, 8.0, progress=False,
                                     max_new_tokens=max_new_tokens)
    casc_s = time.perf_counter() - t0
    sent = casc["vlm_windows"]
    n_vlm = len(analyze.plan_windows(duration, 8.0, analyze.DEFAULT_OVERLAP_S))
    grid = [(i * 8.0, min(duration, (i + 1) * 8.0)) for i in range(int(-(-duration // 8)))]
    grid_sent = sum(1 for a, b in grid if any(s < b and a < e for s, e in sent))
    centre = sum(covered(sent, (e["start_time"] + e["end_time"]) / 2) for e in truth)
    whole = sum(any(s <= e["start_time"] and e["end_time"] <= w for s, w in sent) for e in truth)

    def f1(events):
        return detection_scores([(truth, events)], 0.5)["micro"]["f1"]

    return {"minutes": minutes, "duration": duration, "true_events": len(truth), "vlm_windows": n_vlm,
            "cascade_windows": len(sent), "grid_share": grid_sent / len(grid), "window_share": len(sent) / n_vlm,
            "events_centre_in_sent": centre / len(truth), "events_whole_in_sent": whole / len(truth),
            "vlm_s": vlm_s, "cascade_s": casc_s, "cascade_spotter_s": casc["seconds"]["spotter"],
            "cascade_vlm_s": casc["seconds"]["vlm"], "vlm_f1": f1(vlm["events"]), "cascade_f1": f1(casc["events"]),
            "vlm_events": len(vlm["events"]), "cascade_events": len(casc["events"]),
            "cascade_tight": soccernet_average_map({"m": truth}, {"m": casc["events"]}, TIGHT_TOLERANCES)["a_mAP"]}


def write_results(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "## Cascade\n\n" + text.strip() + "\n"
    new = re.sub(r"## Cascade\n.*?(?=\n## |\Z)", lambda _: section, old, flags=re.S) if "## Cascade" in old \
        else old.rstrip() + "\n\n" + section
    path.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=32)
    ap.add_argument("--adapter-epochs", type=float, default=8)
    ap.add_argument("--pretrain-steps", type=int, default=150)
    ap.add_argument("--match-minutes", type=float, default=10)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--workdir", default=None, help="keep data and models here; a re-run reuses what is there")
    ap.add_argument("--data", default=None, help="a demo data directory (FOOTBALL_DATA_DIR): use its latest splits, "
                    "event_spotter and lora_adapter instead of training small ones")
    a = ap.parse_args()
    tmp = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="bench_cascade_"))
    tmp.mkdir(parents=True, exist_ok=True)
    if a.data:
        run_on(demo_models(Path(a.data)), tmp, a)
        return
    t0 = time.time()
    splits_dir = tmp / "data_root" / "data" / "splits" / "bench"
    if not (splits_dir / "test.jsonl").exists():
        splits_dir = build(tmp / "data_root", a.clips, True)
    print(f"data {time.time() - t0:.0f} s", flush=True)
    done = tmp / "trained.json"
    if done.exists():
        sp_info, ad_info = json.loads(done.read_text())
    else:
        sp_info = train(splits_dir, tmp / "spotter_run", 0)
        print(f"spotter {sp_info['wall_s']:.0f} s", flush=True)
        ad_info = train_adapter(splits_dir, tmp / "adapter_run", a.adapter_epochs, a.pretrain_steps)
        print(f"adapter {ad_info['wall_s']:.0f} s", flush=True)
        done.write_text(json.dumps([{k: v for k, v in sp_info.items() if k != "loss_curve"}, ad_info]))
    trained = (f"Trained for this run, on one splits version of\n{a.clips} demo clips (graphic on; {sp_info['train_clips']} "
               f"train clips): the small spotter (as in \"Spotter\", seed 0,\n{sp_info['wall_s']:.0f} s) and a tiny-model "
               f"LoRA adapter (r 64, lr 2e-3, batch 4, {a.adapter_epochs:g} epochs after\n{a.pretrain_steps} steps of demo "
               f"vision pretraining, {ad_info['wall_s']:.0f} s; `make demo` trains 20 epochs after 300 on\n128 clips, so "
               "this VLM is weaker than the demo's)")
    run_on({"splits": splits_dir, "spotter": tmp / "spotter_run" / "spotter", "adapter": tmp / "adapter_run" / "adapter",
            "trained": trained}, tmp, a)


def demo_models(data: Path) -> dict:
    """The latest splits, spotter and adapter of a demo data directory; a clear error when one is missing."""
    latest = data / "splits" / "LATEST"
    out = {"splits": data / "splits" / (latest.read_text().strip() if latest.exists() else "LATEST"),
           "spotter": data / "models" / "event_spotter", "adapter": data / "models" / "lora_adapter"}
    for name, path in out.items():
        if not path.exists():
            raise SystemExit(f"--data {data}: no {name} at {path} (materialize the demo first)")
    meta = json.loads((out["adapter"] / "train_meta.json").read_text()) if (out["adapter"] / "train_meta.json").exists() else {}
    out["trained"] = (f"The models of a demo run ({data}): its event_spotter and its LoRA adapter "
                      f"{meta.get('model_version', '')} (the assets' defaults), on its splits {out['splits'].name}")
    return out


def run_on(models: dict, tmp: Path, a) -> None:
    """Both paths on the demo test split and the held-out match; writes the Cascade section."""
    splits_dir = models["splits"]
    spotter = Spotter.load(models["spotter"])
    predictor, version, _ = analyze.load_predictor(models["adapter"])

    # val and test answered with the adapter's calibrated confidences, as the evaluation does, so that the
    # cascade column keeps VLM-only events at the bar val chooses (what analyze reads beside the adapter)
    rows, records, cal = {}, {}, calibration.load(models["adapter"])
    for name in ("val", "test"):
        rows[name] = [s for s in map(json.loads, (splits_dir / f"{name}.jsonl").read_text().splitlines())
                      if s["task"] == "events"]
        records[name] = answers.run_predictor(predictor, rows[name], a.max_new_tokens)
        attach_confidences(records[name], cal)
    split = spotter_report.compare(rows["test"], records["test"], models["spotter"], tmp / "report", splits_dir.name,
                                   timelines=0, val_samples=rows["val"], val_records=records["val"],
                                   model_version=version)
    if not split.get("available"):
        raise SystemExit(f"no VLM / spotter / cascade comparison on the test split: {split.get('reason')}")
    print(json.dumps(split["columns"]), flush=True)
    mf = match_figures(spotter, predictor, version, tmp, a.match_minutes, a.max_new_tokens)
    print(json.dumps(mf), flush=True)
    cols = split["columns"]
    rows = "\n".join(f"| {c} | {cols[c]['precision']:.3f} | {cols[c]['recall']:.3f} | {cols[c]['f1']:.3f} | "
                     f"{(cols[c]['mean_tiou'] or 0):.3f} | {cols[c]['tight_a_mAP']:.3f} | {cols[c]['loose_a_mAP']:.3f} |"
                     for c in spotter_report.COLUMNS)
    text = f"""`bench/bench_cascade.py {' '.join(sys.argv[1:])}`
({time.strftime('%Y-%m-%d')}, CPU, 2-core machine shared with other jobs). {models['trained']}. Answers capped at
{a.max_new_tokens} new tokens.

Held-out {mf['minutes']:g}-minute match (seed {MATCH_SEED}, {mf['true_events']} true events), the same video through
`analyze`'s VLM-only path (8 s windows, 2 s overlap) and its cascade path (proposal threshold {spotter.proposal_threshold:.2f}, chosen on val for recall):

| measure | value |
|---|---|
| windows sent to the VLM: cascade / VLM-only | {mf['cascade_windows']} / {mf['vlm_windows']} = {mf['window_share']:.3f} |
| share of the match's 8 s grid cells touched by a sent window | {mf['grid_share']:.3f} |
| true events whose centre lies in a sent window | {mf['events_centre_in_sent']:.3f} |
| true events wholly inside a sent window | {mf['events_whole_in_sent']:.3f} |
| wall time: cascade / VLM-only | {mf['cascade_s']:.1f} s / {mf['vlm_s']:.1f} s = {mf['cascade_s'] / mf['vlm_s']:.3f} |
| cascade time: spotter scan / VLM on sent windows | {mf['cascade_spotter_s']:.1f} s / {mf['cascade_vlm_s']:.1f} s |
| event F1 @ tIoU 0.5: cascade / VLM-only | {mf['cascade_f1']:.3f} / {mf['vlm_f1']:.3f} |
| events reported: cascade / VLM-only | {mf['cascade_events']} / {mf['vlm_events']} |
| cascade tight a-mAP (fused confidences) | {mf['cascade_tight']:.3f} |

Both wall times include the 4 fps transcode of the whole match; the cascade's rest is the spotter scan and
the VLM on the sent windows (row above). With Cosmos-Reason1-7B each window costs far more than with the
tiny VLM, so the ratio tends to the window share. {mf['true_events']} true events is a small sample: each
one is {1 / mf['true_events']:.3f} of the coverage figure.

Demo test split ({split['n_clips']} clips, one seed), the report's comparison (`core/evaluation/cascade_report.py`; the
cascade sent {split['clips_sent_to_vlm']} of the clips to the VLM). {spotter_report.fusion_line(split['fusion'])}

| column | precision | recall | F1 @ tIoU 0.5 | mean tIoU | tight a-mAP | loose a-mAP |
|---|---|---|---|---|---|---|
{rows}
"""
    write_results(text)
    print(text)


if __name__ == "__main__":
    main()
