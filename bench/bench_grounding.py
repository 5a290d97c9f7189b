"""Class vs free-text grounding accuracy of one adapter on its data root's test split, with the report's own
functions, without the rest of ``evaluation_report`` (val, base model, events answers), which is slow on CPU.

Usage: ``python bench/bench_grounding.py REPO_ROOT DATA_ROOT OUT.json`` (the adapter at
``DATA_ROOT/models/lora_adapter``, the splits at ``DATA_ROOT/splits/LATEST``). Prints the result line.
"""
import json
import sys
import time
from pathlib import Path

root, data, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
sys.path.insert(0, root)
from football_assets.core import prompts  # noqa: E402
from football_assets.core.dataset.store import load_latest  # noqa: E402
from football_assets.core.evaluation import answers, scoring  # noqa: E402
from football_assets.core.inference.analyze import load_predictor  # noqa: E402
from football_assets.core.layout import DataLayout  # noqa: E402

layout = DataLayout(data)
latest = load_latest(layout)
test = list(latest["test"])
samples = [s for s in test if s["task"] in ("grounding", prompts.FREE_TEXT_TASK)] + answers.free_text_samples(test)
trained = any(s["task"] == prompts.FREE_TEXT_TASK for s in latest["train"])
pred, version, _ = load_predictor(layout.adapter_dir, None, "cpu")
t = time.time()
recs = answers.run_predictor(pred, samples, progress=lambda i, n: print(f"{i}/{n}", flush=True))
m = scoring.score_records(recs)
res = {"splits": latest.version, "model_version": version, "trained_on_free_text": trained,
       "class_grounding": m["grounding"], "free_text_grounding": m["free_text_grounding"],
       "n_test_clips": len({s["clip_id"] for s in test}), "seconds": round(time.time() - t)}
Path(out).write_text(json.dumps({"result": res, "records": recs}, indent=1))
print(json.dumps(res))
