"""Spotter figures per backbone setting: tight/loose average-mAP and event F1 on the demo test split (graphic
on and off, over training seeds), the domain threshold and margins chosen on val, and on a held-out long match:
spotter a-mAP, share of 8 s windows it would send to the VLM and how many true events those windows hold, CPU
throughput. Writes the "## Spotter" section of bench/RESULTS.md. Usage: ``python bench/bench_spotter.py
[--clips 48] [--seeds 0 1 2] [--match-minutes 10] [--variants lite0-frozen small-cnn] [--graphics on off]``.
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

COMMON = {"cpu_threads": 1, "logging_steps": 20}
#: backbone settings compared (the first is the default, SpotterTrainConfig's)
VARIANTS = {
    "lite0-frozen": {},  # ImageNet EfficientNet-Lite0, frozen, 96x144, 100 epochs
    "lite0-frozen-128x192": {"height": 128, "width": 192},
    "lite0-finetune": {"freeze_backbone": False, "learning_rate": 5e-4, "epochs": 5},
    "small-cnn": {"backbone": "small_cnn", "cnn_width": 8, "epochs": 30},  # from scratch (the old default)
}
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


def train(splits_dir: Path, out: Path, seed: int, variant: str) -> dict:
    cfg = {"splits_dir": str(splits_dir), "splits_version": "bench", "output_dir": str(out), "seed": seed, **COMMON,
           **VARIANTS[variant]}
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
        spot, member = spotter.score_frames(frames)[:2]
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
    ap.add_argument("--variants", nargs="+", default=["lite0-frozen", "small-cnn"], choices=list(VARIANTS))
    ap.add_argument("--graphics", nargs="+", default=["on", "off"], choices=["on", "off"])
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_spotter_"))
    rows, per, matches = [], {}, {}
    for graphics in a.graphics:
        name = f"graphic {graphics}"
        splits_dir = build(tmp / name.replace(" ", "_"), a.clips, graphics == "on")
        test = load_event_samples(splits_dir, "test")
        for variant in a.variants:
            for seed in a.seeds:
                out = tmp / f"{name.replace(' ', '_')}_{variant}_seed{seed}"
                info = train(splits_dir, out, seed, variant)
                sc = score_split(Spotter.load(out / "spotter"), test)
                per.setdefault((variant, name), []).append({
                    **sc, "train_s": info["train_runtime_s"] + info["decode_s"], "val_map": info["val_tight_a_mAP"],
                    "train_clips": info["train_clips"], "test_clips": len(test),
                    "domain": (info["domain_val_max"], info["domain_threshold"], info["domain_ood_min"])})
                print(variant, name, seed, per[(variant, name)][-1], flush=True)
            if graphics == a.graphics[0] and a.match_minutes > 0:
                spotter = Spotter.load(tmp / f"{name.replace(' ', '_')}_{variant}_seed{a.seeds[0]}" / "spotter")
                matches[variant] = match_figures(spotter, tmp / variant, a.match_minutes)
                print(variant, matches[variant], flush=True)
    for (variant, name), runs in per.items():
        dom = runs[0]["domain"]
        rows.append(f"| {variant} | {name} | {runs[0]['train_clips']} / {runs[0]['test_clips']} | "
                    f"{mean_sd([r['val_map'] for r in runs])} | {mean_sd([r['tight'] for r in runs])} | "
                    f"{mean_sd([r['loose'] for r in runs])} | {mean_sd([r['f1'] for r in runs])} | "
                    f"{statistics.mean(r['train_s'] for r in runs):.0f} | {dom[0]:.3f} / {dom[1]:.3f} / {dom[2]:.3f} |")
    mrows = [f"| {v} | {m['tight']:.3f} | {m['f1']:.3f} | {m['window_share']:.3f} | {m['events_in_sent']:.3f} | "
             f"{m['score_fps_1']:.0f} / {m['score_fps_2']:.0f} | {m['decode_fps']:.0f} |" for v, m in matches.items()]
    mf = next(iter(matches.values()), None)
    text = f"""Backbone settings (``VARIANTS`` in the script; 96x144 frames, bi-GRU 64, 1 torch thread, CPU),
`bench/bench_spotter.py --clips {a.clips} --seeds {' '.join(map(str, a.seeds))} --variants {' '.join(a.variants)}
--graphics {' '.join(a.graphics)}` ({time.strftime('%Y-%m-%d')}, 2-core machine shared with other jobs). Demo clips
through the real ingest and split builder; interval and domain thresholds chosen on val; mean ± sd over
{len(a.seeds)} training seed(s) on the test split. Train s includes decoding and, for a frozen backbone, the
one feature pass over the train clips (both flips). Domain: the largest val score / the threshold / the
smallest score of the generated out-of-domain clips (cosine distance to the nearest train clip).

| backbone | demo clips | train / test clips | val tight a-mAP | tight a-mAP | loose a-mAP | event F1 @ tIoU 0.5 | train s | domain val max / threshold / OOD min |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    if mf:
        text += f"""
Held-out {mf['minutes']:g}-minute match (seed {MATCH_SEED}, graphic {a.graphics[0]}, {mf['true_events']} events,
{mf['frames']} frames at 4 fps), spotter of seed {a.seeds[0]}; throughput is the whole network on decoded frames
at its own frame size:

| backbone | tight a-mAP | event F1 @ tIoU 0.5 | share of 8 s windows sent | true events in sent windows | frames/s, 1 / 2 threads | ffmpeg decode + resize (frames/s) |
|---|---|---|---|---|---|---|
{chr(10).join(mrows)}
"""
    write_results(text)
    print(text)


if __name__ == "__main__":
    main()
