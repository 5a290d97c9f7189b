"""Tiny-model training step time on real demo clips: the loss over the whole sequence's logits vs. the
LM head at the answer positions only, for a choice of fully trained modules.

    .venv/bin/python bench/bench_vocab.py --steps 12 --loss answer --modules merger,embed_tokens,lm_head

It renders 8 demo clips (4 fps, the tests' fixtures), trains ``--steps`` steps of the tiny preset (batch 4)
and prints the mean step time (wall and CPU) after ``--warmup`` steps, the losses, and the extrapolation to the demo's
training (266 samples, 20 epochs, batch 4: 1,330 steps). ``--loss full`` uses the plain ``Trainer``
(the loss over every position's logits), which also runs on code from before the answer-only loss.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transformers import Trainer, TrainerCallback  # noqa: E402

from football_assets.core.layout import DataLayout  # noqa: E402
from football_assets.core.training.data import Collator, SFTDataset, load_samples  # noqa: E402
from football_assets.core.training.train import TrainConfig, prepare_model, training_arguments  # noqa: E402
from football_assets.core.training.video_inputs import VideoCache  # noqa: E402
from tests.fixtures_training import make_demo_clips, write_splits  # noqa: E402

DEMO_STEPS = 1330  # 266 train samples x 20 epochs / batch 4


class StepTimer(TrainerCallback):
    """Wall time and this process's CPU time per step (CPU time is the steadier figure on a shared machine)."""

    def __init__(self):
        self.times: list[float] = []
        self.cpu: list[float] = []
        self._t = self._c = 0.0

    def on_step_begin(self, args, state, control, **kw):
        self._t, self._c = time.perf_counter(), time.process_time()

    def on_step_end(self, args, state, control, **kw):
        self.times.append(time.perf_counter() - self._t)
        self.cpu.append(time.process_time() - self._c)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--loss", choices=["full", "answer"], default="answer")
    ap.add_argument("--modules", default="merger,embed_tokens,lm_head", help="modules_to_save, comma-separated")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_vocab_"))
    layout = DataLayout(tmp / "data")
    splits = write_splits(layout, make_demo_clips(layout))
    cfg = TrainConfig.from_dict({"model": "tiny", "splits_dir": str(splits), "output_dir": str(tmp / "run"),
                                 "max_steps": args.steps, "demo_pretrain_steps": 0, "save_steps": 10_000,
                                 "modules_to_save": [m for m in args.modules.split(",") if m]})
    t0 = time.perf_counter()
    model, processor, params = prepare_model(cfg)
    build_s = time.perf_counter() - t0
    ds = SFTDataset(load_samples(cfg), processor, VideoCache(processor, cfg.budget()))
    for i in range(len(ds)):  # decode every clip first: time the training step only
        ds[i]
    timer, history = StepTimer(), []

    class Losses(TrainerCallback):
        def on_log(self, a, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                history.append(round(logs["loss"], 4))

    trainer_cls = Trainer
    if args.loss == "answer":
        from football_assets.core.training.loss import AnswerLossTrainer as trainer_cls
    trainer = trainer_cls(model=model, args=training_arguments(cfg, False), train_dataset=ds,
                          data_collator=Collator(processor.tokenizer.pad_token_id), callbacks=[timer, Losses()])
    trainer.train()
    step = statistics.mean(timer.times[args.warmup:])
    cpu = statistics.mean(timer.cpu[args.warmup:])
    print(json.dumps({"loss": args.loss, "modules_to_save": cfg.modules_to_save, "vocab": len(processor.tokenizer),
                      "trainable": params["params_trainable"], "build_s": round(build_s, 1),
                      "samples": len(ds), "step_s": round(step, 3), "step_cpu_s": round(cpu, 3),
                      "demo_training_s": round(step * DEMO_STEPS), "demo_training_cpu_s": round(cpu * DEMO_STEPS),
                      "losses": history}))


if __name__ == "__main__":
    main()
