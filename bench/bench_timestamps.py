"""Time on the frames, A/B on val for the tiny model: timestamps on vs off, over training seeds, as mean ± sd.

    PYTHONPATH=. .venv/bin/python bench/bench_timestamps.py --splits-dir data/splits/<version> --seeds 0 1 2
    PYTHONPATH=. .venv/bin/python bench/bench_timestamps.py --splits-dir S --seeds 0 1 --max-steps 2 \\
        --pretrain-steps 0 --max-samples 6 --results /tmp/RESULTS.md                 # a quick check that it runs

For each seed and setting it trains a tiny adapter on the splits' train.jsonl with the project's trainer
(``python -m football_assets.core.training.train``: the tiny preset on the ``cpu`` profile, as ``make run``
trains it, but the seed, ``timestamps``
and what the options set) and answers val (its samples and the free-text grounding questions its
descriptions give) the way the ``evaluation_report`` asset does: ``run_predictor`` on the adapter as
``load_predictor`` loads it, a calibration fitted on those val answers, ``scoring`` and its headline figures.
Test is never answered: the tiny model's default is chosen on val. It prints the table and replaces the
"## Time on the frames" section of ``--results`` (``bench/RESULTS.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECTION = "## Time on the frames"
#: (headline key, label) of the val figures, in order.
FIGURES = (
    ("micro_f1", "event F1 @ tIoU 0.5"),
    ("mean_tiou", "mean tIoU of matched events"),
    ("presence_f1", "class-presence F1"),
    ("tight_a_mAP", "tight a-mAP (1-5 s)"),
    ("loose_a_mAP_within_clip", "loose mAP within clip length"),
    ("grounding_accuracy", "grounding accuracy"),
    ("free_text_grounding_accuracy", "free-text grounding accuracy"),
    ("rougeL", "ROUGE-L"),
    ("valid_json_rate", "valid JSON"),
    ("conf_auroc", "confidence AUROC, TP vs FP"),
)


def train(splits_dir: Path, out: Path, seed: int, timestamps: bool, args) -> Path:
    """A tiny adapter trained by the project's trainer in its own process; its directory."""
    from football_assets.core.training.launch import launch_env
    from football_assets.core.training.presets import profile_values

    # the cpu profile's settings (bf16 autocast where native) and allocator, as make run's lora_adapter trains
    cfg = {**profile_values("cpu"), "model": "tiny", "splits_dir": str(splits_dir), "splits_version": splits_dir.name,
           "output_dir": str(out), "seed": seed, "timestamps": timestamps}
    for key, value in (("num_train_epochs", args.epochs), ("max_steps", args.max_steps),
                       ("demo_pretrain_steps", args.pretrain_steps)):
        if value is not None:
            cfg[key] = value
    if args.max_steps is not None:
        cfg["save_steps"] = max(args.max_steps, 1)  # a short run writes no midway checkpoint
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    env = {**os.environ, **launch_env("cpu"), "PYTHONPATH": str(ROOT)}
    with open(out / "bench.log", "w") as log:
        done = subprocess.run([sys.executable, "-m", "football_assets.core.training.train", "--config", str(out / "config.json")],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.exit(f"training failed (seed {seed}, timestamps {timestamps}):\n{(out / 'bench.log').read_text()[-3000:]}")
    return out / "adapter"


def evaluate_val(adapter: Path, splits_dir: Path, max_samples: int | None) -> dict:
    """The headline figures of the adapter on val, scored as the evaluation report scores its val column."""
    from football_assets.core.evaluation import baselines
    from football_assets.core.evaluation.answers import free_text_samples, run_predictor
    from football_assets.core.evaluation.scoring import fit_calibration, headline, scorer
    from football_assets.core.inference.analyze import load_predictor

    read = lambda name: [json.loads(line) for line in (splits_dir / f"{name}.jsonl").read_text().splitlines() if line.strip()]  # noqa: E731
    val = read("val")
    if not val:
        sys.exit(f"{splits_dir}: val.jsonl is empty; the A/B is read off val")
    samples = (val + free_text_samples(val))[: max_samples or None]
    predictor, version, _ = load_predictor(adapter, None, "cpu")
    records = run_predictor(predictor, samples, None, None, predictor.processor.tokenizer)
    cal = fit_calibration(records, 0.5, version)
    score = scorer(0.5, samples, baselines.fit_priors(read("train")))
    return {"timestamps": predictor.budget.timestamps, "n_samples": len(samples), **headline(score(records, cal))}


def spread(values: list[float | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.fmean(vals):.3f} ± {sd:.3f}"


def table(results: dict[bool, list[dict]]) -> list[str]:
    lines = ["| figure (val) | timestamps off | timestamps on |", "|---|---|---|"]
    for key, label in FIGURES:
        cells = [spread([r.get(key) for r in results[on]]) for on in (False, True)]
        if cells != ["n/a", "n/a"]:
            lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return lines


def write_section(path: Path, body: str) -> None:
    """Replace (or append) the section in ``path``, written to a temp file first."""
    from football_assets.core.fsutil import atomic_path

    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{SECTION}\n\n{body.strip()}\n"
    if f"{SECTION}\n" in old:
        new = re.sub(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", lambda _: section, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + section
    with atomic_path(path) as tmp:
        Path(tmp).write_text(new)


def default_splits_dir() -> Path | None:
    from football_assets.core.layout import DataLayout

    root = DataLayout.from_env().splits_dir
    latest = root / "LATEST"
    return root / latest.read_text().strip() if latest.exists() else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--splits-dir", type=Path, default=None,
                   help="a splits version directory with train.jsonl and val.jsonl (default: the data directory's latest)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    p.add_argument("--epochs", type=float, default=None, help="default: the tiny preset's")
    p.add_argument("--max-steps", type=int, default=None, help="stop each training after this many steps (quick checks)")
    p.add_argument("--pretrain-steps", type=int, default=None, help="demo vision pretraining steps; default: the preset's")
    p.add_argument("--max-samples", type=int, default=None, help="answer only the first N val samples (quick checks)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "timestamps", help="run folders (replaced)")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md", help="the file whose section is replaced")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    splits_dir = (args.splits_dir or default_splits_dir() or Path("")).resolve()
    if not (splits_dir / "train.jsonl").exists() or not (splits_dir / "val.jsonl").exists():
        sys.exit(f"--splits-dir {splits_dir}: needs train.jsonl and val.jsonl (materialize sft_splits first)")

    shutil.rmtree(args.out, ignore_errors=True)
    results: dict[bool, list[dict]] = {False: [], True: []}
    times = []
    for seed in args.seeds:
        for on in (False, True):  # interleaved: a busy machine slows both settings alike
            t0 = time.time()
            adapter = train(splits_dir, args.out / f"seed{seed}-{'on' if on else 'off'}", seed, on, args)
            res = evaluate_val(adapter, splits_dir, args.max_samples)
            if res["timestamps"] is not on:
                sys.exit(f"{adapter}: trained with timestamps {on} but loads with {res['timestamps']}")
            results[on].append(res)
            times.append(time.time() - t0)
            print(f"seed {seed} timestamps {'on ' if on else 'off'}: val event F1 {res['micro_f1']:.3f}, "
                  f"grounding {res['grounding_accuracy']:.3f} ({times[-1]:.0f} s)", flush=True)

    options = " ".join(argv if argv is not None else sys.argv[1:])
    recipe = ", ".join(f"{k} {v:g}" for k, v in (("epochs", args.epochs), ("max_steps", args.max_steps),
                                                   ("demo_pretrain_steps", args.pretrain_steps)) if v is not None)
    body = "\n".join([
        f"`bench/bench_timestamps.py {options}`".replace(" `", "`"),
        f"({time.strftime('%Y-%m-%d')}): tiny model, splits {splits_dir.name}, {results[False][0]['n_samples']} val samples, "
        f"training seeds {', '.join(map(str, args.seeds))}, the tiny preset's settings"
        + (f" but {recipe}" if recipe else "") + f"; {statistics.fmean(times):.0f} s per adapter (train + answer val).",
        "",
        "Each frame's source time drawn in a strip at the bottom of the frame (Cosmos-Reason1's `--timestamp`, "
        "`core/training/timestamps.py`) vs not. Mean ± sample standard deviation over the seeds, val only (the "
        "tiny model's default is chosen here; test is not answered).",
        "",
        *table(results),
    ])
    print("\n" + body)
    if not args.no_write:
        write_section(args.results, body)
        print(f"\nwrote the {SECTION!r} section of {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
