"""Demo quality over training seeds: the figures the README quotes, as mean ± spread, val and test.

    .venv/bin/python bench/bench_quality.py                        # the full demo: 128 clips, 3 seeds (~9 min/seed)
    .venv/bin/python bench/bench_quality.py --clips 32 --epochs 3 --pretrain-steps 20   # a quick run

On a fresh data directory and Dagster instance under ``bench/out/quality/`` it does what ``make demo``
does (ingest the synthetic demo, annotations, splits), then for each training seed materializes
``event_spotter`` and ``lora_adapter`` (the assets' defaults but the seed, unless --epochs/--pretrain-steps
are given) and ``evaluation_report`` through the ``dagster`` command line, and reads each report's val/test
table and its VLM only / spotter / cascade comparison on test (issue 12's demo figures).
It prints, and writes into the "## Demo quality" section of ``bench/RESULTS.md``, the mean and spread
(sample standard deviation, and min-max) of the headline figures for the adapter, the base model without
adapter and the trivial baselines. Choices are read off val; test is only reported.
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
BIN = Path(sys.executable).parent

#: (report key, label) of the figures in the table, in order.
FIGURES = (
    ("micro_f1", "event F1 @ tIoU 0.5"),
    ("presence_f1", "class-presence F1"),
    ("tight_a_mAP", "tight a-mAP (1-5 s)"),
    ("tight_a_mAP_conf", "tight a-mAP (1-5 s), model confidences"),
    ("loose_a_mAP_within_clip", "loose mAP within clip length"),
    ("rougeL", "ROUGE-L"),
    ("rougeL_prior", "ROUGE-L, template prior"),
    ("bleu", "BLEU"),
    ("bleu_prior", "BLEU, template prior"),
    ("valid_json_rate", "valid JSON"),
    ("grounding_accuracy", "grounding accuracy"),
    ("free_text_grounding_accuracy", "free-text grounding accuracy"),
    ("conf_auroc", "confidence AUROC, TP vs FP"),
    ("ece_raw", "confidence ECE, raw"),
    ("ece_calibrated", "confidence ECE, calibrated on val"),
)


def run(cmd: list[str], env: dict, log: Path) -> None:
    """Run a step; on failure show the end of its log."""
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.exit(f"step failed ({done.returncode}): {' '.join(cmd)}\n{log.read_text()[-3000:]}")


def materialize(select: str, env: dict, log: Path, config: dict | None = None) -> None:
    cmd = [str(BIN / "dagster"), "asset", "materialize", "-m", "football_assets.definitions", "--select", select]
    if config:
        cmd += ["--config-json", json.dumps(config)]
    run(cmd, env, log)


def spread(values: list[float | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    mean = statistics.fmean(vals)
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{mean:.3f} ± {sd:.3f} ({min(vals):.2f}-{max(vals):.2f})"


def table(reports: list[dict]) -> list[str]:
    """Markdown rows: one per (predictor, figure), val and test side by side."""
    predictors: list[str] = []
    for r in reports:
        for name in list(r["splits"].get("test", {})) + list(r["splits"].get("val", {})):
            if name not in predictors and not name.startswith("previous adapter"):
                predictors.append(name)
    lines = ["| predictor | figure | val | test |", "|---|---|---|---|"]
    for name in predictors:
        for key, label in FIGURES:
            cells = [spread([r["splits"].get(split, {}).get(name, {}).get(key) for r in reports]) for split in ("val", "test")]
            if cells != ["n/a", "n/a"]:
                lines.append(f"| {name} | {label} | {cells[0]} | {cells[1]} |")
    return lines


#: (key, label) of the VLM only / spotter / cascade comparison (spotter_comparison.json, test split).
CASCADE_FIGURES = (("f1", "event F1 @ tIoU 0.5"), ("mean_tiou", "mean tIoU"), ("tight_a_mAP", "tight a-mAP"))


def cascade_table(comparisons: list[dict]) -> list[str]:
    """Markdown rows: one per (column, figure) of the test-split comparison, over the seeds."""
    ok = [c for c in comparisons if c.get("available")]
    if not ok:
        reasons = sorted({c.get("reason", "no spotter") for c in comparisons})
        return [f"Not available: {'; '.join(reasons)}."]
    lines = ["| stage | figure | test |", "|---|---|---|"]
    for col in ok[0]["columns"]:
        for key, label in CASCADE_FIGURES:
            lines.append(f"| {col} | {label} | {spread([c['columns'][col].get(key) for c in ok])} |")
    sent = [c["clips_sent_to_vlm"] / c["n_clips"] for c in ok if c.get("n_clips")]
    lines += ["", f"Share of test clips the cascade sends to the VLM: {spread(sent)}."]
    rules = [c.get("fusion") or {} for c in ok]
    if all(r.get("n_val_clips") for r in rules):
        lines += ["", "Bar for events only the VLM found, chosen on val per seed: "
                  + ", ".join(f"{r['vlm_only_min_confidence']:.2f}" for r in rules)
                  + f"; the cascade's val event F1 at it {spread([r['val_f1'] for r in rules])}, keeping them all "
                  + f"{spread([r['val_f1_keep_all'] for r in rules])}."]
    return lines


def free_decoding(data_dir: Path) -> dict:
    """The adapter just evaluated, answering the same test samples without the answer constraint, scored as
    the report scores its test column: what constrained decoding changes (valid answers, event F1)."""
    sys.path.insert(0, str(ROOT))
    from football_assets.core.dataset.store import load_latest
    from football_assets.core.evaluation import baselines
    from football_assets.core.evaluation.answers import free_text_samples, run_predictor
    from football_assets.core.evaluation.scoring import headline, scorer
    from football_assets.core.inference.analyze import load_predictor
    from football_assets.core.layout import DataLayout

    layout = DataLayout.at(data_dir)
    latest = load_latest(layout)
    test = list(latest["test"]) + free_text_samples(list(latest["test"]))
    predictor, _, _ = load_predictor(layout.adapter_dir, None, None)
    predictor.constrain = False
    records = run_predictor(predictor, test, None, None, predictor.processor.tokenizer)
    h = headline(scorer(0.5, test, baselines.fit_priors(latest["train"]))(records))
    return {"micro_f1": h["micro_f1"], "valid_json_rate": h["valid_json_rate"]}


def free_table(reports: list[dict], free: list[dict]) -> list[str]:
    """Markdown rows: constrained (the report's test column) vs free decoding of the same adapters."""
    lines = ["| test figure | constrained (as shipped) | free decoding |", "|---|---|---|"]
    for key, label in (("micro_f1", "event F1 @ tIoU 0.5"), ("valid_json_rate", "valid answers")):
        lines.append(f"| {label} | {spread([r['headline'].get(key) for r in reports])} | {spread([f[key] for f in free])} |")
    return lines


def write_results(body: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "## Demo quality\n\n" + body.strip() + "\n"
    if "## Demo quality\n" in old:
        new = re.sub(r"## Demo quality\n.*?(?=\n## |\Z)", lambda _: section, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + section
    path.write_text(new)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=128, help="demo clips (make demo: 128)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    p.add_argument("--epochs", type=float, default=None, help="default: the lora_adapter asset's")
    p.add_argument("--pretrain-steps", type=int, default=None, help="demo vision pretraining steps; default: the asset's")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "quality")
    p.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    p.add_argument("--free-decoding", action="store_true",
                   help="also answer each seed's test samples without the answer constraint (what it changes)")
    p.add_argument("--reuse", action="store_true",
                   help="keep --out's ingested clips and splits from an earlier run (skip ingest); models and reports are redone")
    args = p.parse_args(argv)

    out = args.out.resolve()
    reuse = args.reuse and (out / "data" / "splits" / "LATEST").exists()
    if reuse:  # models and reports (and their caches) are redone; the ingested clips and splits stay
        for sub in ("models", "reports"):
            shutil.rmtree(out / "data" / sub, ignore_errors=True)
    else:
        shutil.rmtree(out, ignore_errors=True)  # a fresh data dir and instance: nothing cached from an earlier run
    (out / "dagster_home").mkdir(parents=True, exist_ok=True)
    (out / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (out / "sources.yaml").write_text(f"sources: []\ndemo:\n  clips: {args.clips}\n  seed: 0\n")
    env = {**os.environ, "DAGSTER_HOME": str(out / "dagster_home"), "FOOTBALL_DATA_DIR": str(out / "data"),
           "FOOTBALL_MANIFEST": str(out / "sources.yaml"), "PYTHONPATH": str(ROOT)}
    env.pop("LABEL_STUDIO_URL", None)  # annotations come from the demo's ground-truth export
    log = out / "bench.log"
    t0 = time.time()
    if not reuse:
        run([str(BIN / "football-events"), "demo", "--ingest-only"], env, log)
        materialize("annotations,sft_splits", env, log)
        print(f"ingest + annotations + splits: {time.time() - t0:.0f} s ({args.clips} clips)", flush=True)

    reports, comparisons, times, free = [], [], [], []
    for seed in args.seeds:
        t1 = time.time()
        cfg = {"seed": seed}
        if args.epochs is not None:
            cfg["num_train_epochs"] = args.epochs
        if args.pretrain_steps is not None:
            cfg["demo_pretrain_steps"] = args.pretrain_steps
        materialize("event_spotter", env, log, {"ops": {"event_spotter": {"config": {"seed": seed}}}})
        materialize("lora_adapter", env, log, {"ops": {"lora_adapter": {"config": cfg}}})
        # the seeds are compared here, not gated against each other
        materialize("evaluation_report", env, log, {"ops": {"evaluation_report": {"config": {"f1_margin": 1.0}}}})
        reports_dir = out / "data" / "reports" / "evaluation"
        rep = json.loads((reports_dir / (reports_dir / "LATEST").read_text().strip() / "report.json").read_text())
        reports.append(rep)
        cmp_path = reports_dir / (reports_dir / "LATEST").read_text().strip() / "spotter_comparison.json"
        comparisons.append(json.loads(cmp_path.read_text()) if cmp_path.exists() else {"reason": "no comparison written"})
        times.append(time.time() - t1)
        if args.free_decoding:
            free.append(free_decoding(out / "data"))
            print(f"seed {seed}: free decoding on test: {free[-1]}", flush=True)
        h, v = rep["headline"], rep["val_headline"]
        print(f"seed {seed}: {rep['model_version']} event F1 val {v['micro_f1']:.3f} / test {h['micro_f1']:.3f}, "
              f"presence F1 val {v['presence_f1']:.3f} / test {h['presence_f1']:.3f} ({times[-1]:.0f} s)", flush=True)

    first = reports[0]
    settings = (f"{args.clips} demo clips (data seed 0), training seeds {', '.join(map(str, args.seeds))}, "
                f"lora_adapter defaults" + (f" but epochs {args.epochs:g}" if args.epochs is not None else "")
                + (f", demo_pretrain_steps {args.pretrain_steps}" if args.pretrain_steps is not None else ""))
    body = "\n".join([
        f"`bench/bench_quality.py {' '.join(argv if argv is not None else sys.argv[1:])}`".replace(" `", "`"),
        f"({time.strftime('%Y-%m-%d')}): {settings}; splits {first['splits_version']}, "
        f"{first['n_samples']['val']} val / {first['n_samples']['test']} test samples; "
        f"{statistics.fmean(times):.0f} s per seed (train + evaluate) on this machine.",
        "",
        "Each cell: mean ± sample standard deviation over the seeds (min-max). The baselines do not look at the "
        "video and do not depend on the training seed. Choose on val; test is reported only.",
        "",
        *table(reports),
        "",
        "VLM only vs spotter vs cascade on the test split (spotter thresholds chosen on val; a-mAP of the spotter "
        "with its per-peak confidences, of the VLM and cascade with the adapter's calibrated confidences (the spotter's where "
        "it timed the event)):",
        "",
        *cascade_table(comparisons),
        *(["", "Constrained decoding (the answer format, times in the clip, end after start) vs free decoding, the same "
            "adapters on the same test samples:", "", *free_table(reports, free)] if free else []),
    ])
    print("\n" + body)
    if not args.no_write:
        write_results(body)
        print(f"\nwritten to {ROOT / 'bench' / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
