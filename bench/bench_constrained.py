"""Constrained vs free decoding on a trained tiny adapter: seconds per answer, valid-answer rate and
event F1 on real demo clips (one seed; the figures go to bench/RESULTS.md by hand).

    PYTHONPATH=. .venv/bin/python bench/bench_constrained.py --clips 16 --steps 60 --out /tmp/bench_constrained
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path


def main() -> None:
    from football_assets.core.dataset.store import load_latest
    from football_assets.core.evaluation import report
    from football_assets.core.inference.predictor import EventPredictor
    from football_assets.core.layout import DataLayout
    from football_assets.core.training.train import TrainConfig, run
    from tests.fixtures_training import make_demo_clips, tiny_config, write_splits

    p = argparse.ArgumentParser()
    p.add_argument("--clips", type=int, default=16)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_constrained"))
    args = p.parse_args()
    layout = DataLayout(args.out / "data")
    if not layout.adapter_dir.joinpath("adapter_config.json").exists():
        splits_dir = write_splits(layout, make_demo_clips(layout, n=args.clips))
        run(TrainConfig.from_dict(tiny_config(splits_dir, layout.root / "train_out", max_steps=args.steps, save_steps=10000,
                                              learning_rate=5e-3, seed=args.seed, adapter_dir=str(layout.adapter_dir))))
        shutil.rmtree(layout.root / "train_out")
    splits = load_latest(layout)
    samples = [s for name in ("val", "test") for s in splits[name]]
    samples += report.free_text_samples(samples)
    out = {}
    for constrain in (False, True, False, True):  # twice each, interleaved: the machine is shared
        pred = EventPredictor("tiny", layout.adapter_dir, constrain=constrain)
        t = time.perf_counter()
        records = report.run_predictor(pred, samples)
        secs = (time.perf_counter() - t) / len(records)
        m = report.score_records(records)
        h = report.headline(m)
        key = "constrained" if constrain else "free"
        out.setdefault(key, []).append({"s_per_answer": round(secs, 3), "n": len(records), "micro_f1": h["micro_f1"],
                                        "valid_json_rate": h["valid_json_rate"], "grounding_accuracy": h["grounding_accuracy"],
                                        "free_text_grounding_accuracy": h["free_text_grounding_accuracy"],
                                        "invalid": [e["error"][:100] for e in m["valid_json"]["invalid_examples"]]})
        print(key, json.dumps(out[key][-1]), flush=True)
    (args.out / "result.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
