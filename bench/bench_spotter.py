"""Spotter figures: tight/loose average-mAP and event F1 on the demo test split (graphic on and off, over
training seeds), and on a held-out long match: spotter a-mAP, share of 8 s windows it would send to the
VLM and how many true events those windows hold, CPU throughput. Writes the "## Spotter" section of
bench/RESULTS.md. Usage: ``python bench/bench_spotter.py [--clips 48] [--seeds 0 1 2] [--match-minutes 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from football_assets.core.annotation import demo_labels
from football_assets.core.dataset import store  # noqa: E402
from football_assets.core.demo import generator  # noqa: E402
from football_assets.core.ingest import catalog  # noqa: E402
from football_assets.core.ingest.sources import ClipSource  # noqa: E402
from football_assets.core.layout import DataLayout  # noqa: E402
from football_assets.core.metrics import LOOSE_TOLERANCES, TIGHT_TOLERANCES, detection_scores, soccernet_average_map  # noqa: E402
from football_assets.core.spotter.data import load_event_samples  # noqa: E402
from football_assets.core.spotter.infer import Spotter  # noqa: E402
from tests.fixtures_dataset import DemoData, make_splits_from  # noqa: E402

SETTINGS = {"cnn_width": 8, "height": 96, "width": 144, "cpu_threads": 1, "epochs": 30, "logging_steps": 20}
MATCH_SEED = 90210  # never used to plan a training clip


class Data(DemoData):
    """DemoData with the graphics switch (the real ingest path, location ``demo:<seed>:<i>[:nographics]``)."""

    def __init__(self, root: Path, n: int, graphics: bool):
        self.root, self.layout = root, DataLayout(root / "data")
        self.plan = generator.plan_clips(n, 0, graphics)
        self.facts = {}
        for c in self.plan:
            loc = f"demo:0:{c.index}" + ("" if graphics else ":nographics")
            catalog.register(self.layout, [ClipSource(key=c.key, kind="demo", location=loc, source_id=c.source_id,
                                                     extra={"n_clips": c.index + 1})])
            catalog.ingest_raw(self.layout, c.key)
            self.facts[c.key] = catalog.make_clip(self.layout, c.key).facts
        self.write_snapshot()


def build(root: Path, n: int, graphics: bool) -> Path:
    data = Data(root, n, graphics)
    dest = data.layout.splits_dir / "bench"
    store.write_version(dest, make_splits_from(data), {"version": "bench"})
    return dest


def train(splits_dir: Path, out: Path, seed: int) -> dict:
    cfg = {"splits_dir": str(splits_dir), "splits_version": "bench", "output_dir": str(out), "seed": seed, **SETTINGS}
    (out.parent / f"{out.name}.json").write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_PIPES_CONTEXT"}
    env["PYTHONPATH"] = str(ROOT)
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "football_assets.core.spotter.train", "--config", str(out.parent / f"{out.name}.json")],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    info = json.loads((out / "metrics.json").read_text())
    info["wall_s"] = time.time() - t0
    return info


def score_split(spotter: Spotter, samples: list[dict]) -> dict:
    truth, spots, pairs = {}, {}, []
    for s in samples:
        spot, member = spotter.score_video(s["video"])
        found = spotter.detect(spot, member, s.get("duration"))
        truth[s["clip_id"]], spots[s["clip_id"]] = s["target"], found["spots"]
        pairs.append((s["target"], found["intervals"]))
    return {"tight": soccernet_average_map(truth, spots, TIGHT_TOLERANCES)["a_mAP"],
            "loose": soccernet_average_map(truth, spots, LOOSE_TOLERANCES)["a_mAP"],
            "f1": detection_scores(pairs, 0.5)["micro"]["f1"]}


def match_figures(spotter: Spotter, tmp: Path, minutes: float) -> dict:
    import torch

    from football_assets.core.ingest.video import read_frames

    m = demo_labels.write_match(tmp / "match", minutes, MATCH_SEED)
    truth = demo_labels.read_truth(m["labels"])
    t0 = time.perf_counter()
    frames = read_frames(m["video"], spotter.cfg.width, spotter.cfg.height)
    decode_s = time.perf_counter() - t0
    rates = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        spot, member = spotter.score_frames(frames)
        rates[threads] = len(frames) / (time.perf_counter() - t0)
    found = spotter.detect(spot, member, m["clip"].duration)
    win = 8.0
    n_win = int(-(-m["clip"].duration // win))
    sent = {int(s["time"] // win) for s in found["spots"] if s["confidence"] >= spotter.proposal_threshold}
    inside = sum(1 for e in truth if int(((e["start_time"] + e["end_time"]) / 2) // win) in sent)
    return {"minutes": minutes, "true_events": len(truth), "frames": len(frames),
            "tight": soccernet_average_map({"m": truth}, {"m": found["spots"]}, TIGHT_TOLERANCES)["a_mAP"],
            "f1": detection_scores([(truth, found["intervals"])], 0.5)["micro"]["f1"],
            "window_share": len(sent) / n_win, "events_in_sent": inside / len(truth) if truth else None,
            "decode_fps": len(frames) / decode_s, "score_fps_1": rates[1], "score_fps_2": rates[2]}


def mean_sd(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else f"{xs[0]:.3f}"


def write_results(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "## Spotter\n\n" + text.strip() + "\n"
    new = re.sub(r"## Spotter\n.*?(?=\n## |\Z)", lambda _: section, old, flags=re.S) if "## Spotter" in old \
        else old.rstrip() + "\n\n" + section
    path.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--match-minutes", type=float, default=10)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_spotter_"))
    rows, per = [], {}
    for graphics in (True, False):
        name = "graphic on" if graphics else "graphic off"
        splits_dir = build(tmp / name.replace(" ", "_"), a.clips, graphics)
        test = load_event_samples(splits_dir, "test")
        for seed in a.seeds:
            out = tmp / f"{name.replace(' ', '_')}_seed{seed}"
            info = train(splits_dir, out, seed)
            sc = score_split(Spotter.load(out / "spotter"), test)
            per.setdefault(name, []).append({**sc, "train_s": info["train_runtime_s"], "val_f1": info["val_event_f1"],
                                             "train_clips": info["train_clips"], "test_clips": len(test)})
            print(name, seed, per[name][-1], flush=True)
    for name, runs in per.items():
        rows.append(f"| {name} | {runs[0]['train_clips']} / {runs[0]['test_clips']} | {mean_sd([r['tight'] for r in runs])} | "
                    f"{mean_sd([r['loose'] for r in runs])} | {mean_sd([r['f1'] for r in runs])} | "
                    f"{statistics.mean(r['train_s'] for r in runs):.0f} |")
    spotter = Spotter.load(tmp / f"graphic_on_seed{a.seeds[0]}" / "spotter")
    mf = match_figures(spotter, tmp, a.match_minutes)
    print(mf, flush=True)
    text = f"""Small-CNN spotter (8-channel CNN, 96x144 frames, bi-GRU 64, 30 epochs, 1 torch thread, CPU),
`bench/bench_spotter.py --clips {a.clips} --seeds {' '.join(map(str, a.seeds))}` ({time.strftime('%Y-%m-%d')}, 2-core
machine shared with other jobs). Demo clips through the real ingest and split builder; interval threshold
chosen on val; mean ± sd over {len(a.seeds)} training seed(s) on the test split.

| demo clips | train / test clips | tight a-mAP | loose a-mAP | event F1 @ tIoU 0.5 | train s |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Held-out {mf['minutes']:g}-minute match (seed {MATCH_SEED}, graphic on, {mf['true_events']} events, {mf['frames']} frames at 4 fps),
spotter of seed {a.seeds[0]}:

| measure | value |
|---|---|
| spotter tight a-mAP | {mf['tight']:.3f} |
| spotter event F1 @ tIoU 0.5 | {mf['f1']:.3f} |
| share of 8 s windows with a spot above the val threshold | {mf['window_share']:.3f} |
| true events whose centre lies in such a window | {mf['events_in_sent']:.3f} |
| scoring throughput, 1 / 2 torch threads (frames/s, decode excluded) | {mf['score_fps_1']:.0f} / {mf['score_fps_2']:.0f} |
| ffmpeg decode + resize to 96x144 (frames/s) | {mf['decode_fps']:.0f} |
"""
    write_results(text)
    print(text)


if __name__ == "__main__":
    main()
