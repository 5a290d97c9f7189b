"""Training test data: real demo clips (rendered, resampled to 4 fps by the real ingest code) and SFT
splits in the exact interface-2 JSONL format, built with the shared prompts module."""

import json
from pathlib import Path

import pytest

from football_assets.core import prompts
from football_assets.core.demo.generator import plan_clips
from football_assets.core.ingest import catalog
from football_assets.core.ingest.sources import demo_sources
from football_assets.core.layout import DataLayout

N_CLIPS = 8  # two "matches" of 4 clips: train = match 0, val/test = match 1
#: The training and cascade plumbing tests train on 4 clips: they use the demo's test world with a class cue
#: (``DemoClip.cue``), so a model that small fires and its times, classes and confidences can be checked.
CUE = True


def make_demo_clips(layout: DataLayout, n: int = N_CLIPS, seed: int = 0) -> list[dict]:
    sources = demo_sources(n, seed, cue=CUE)
    catalog.register(layout, sources)
    for src in sources:
        catalog.ingest_raw(layout, src.key)
        catalog.make_clip(layout, src.key)
    return catalog.list_clips(layout)


def sample_for(clip_facts: dict, events, task: str = "events", event_class: str | None = None) -> dict:
    """One interface-2 sample (events or grounding) for a clip."""
    if task == "events":
        instruction, answer = prompts.EVENTS_INSTRUCTION, prompts.format_events(events)
        target = prompts.normalize_events(events)
        sid = f"{clip_facts['clip_id']}:events"
    else:
        ev = next((e for e in events if e.event == event_class), None)
        instruction = prompts.grounding_question(event_class)
        answer = prompts.format_grounding(event_class, (ev.start_time, ev.end_time) if ev else None)
        target = prompts.parse_grounding(answer)
        sid = f"{clip_facts['clip_id']}:grounding:{event_class}"
    return {"id": sid, "clip_id": clip_facts["clip_id"], "source_id": clip_facts["source_id"], "task": task,
            "video": clip_facts["path"], "fps": 4, "duration": clip_facts["duration_s"],
            "messages": prompts.build_messages(clip_facts["path"], instruction, answer), "target": target}


def write_splits(layout: DataLayout, clips: list[dict], seed: int = 0, version: str = "test-v1") -> Path:
    truth = {c.key: c.events for c in plan_clips(len(clips), seed, cue=CUE)}
    by_source = sorted({c["source_id"] for c in clips})
    splits = {"train": [], "val": [], "test": []}
    for c in clips:
        events = truth[c["clip_id"]]
        name = "train" if c["source_id"] == by_source[0] else ("val" if int(c["clip_id"][5:8]) % 2 else "test")
        splits[name].append(sample_for(c, events))
        for ev in events:
            splits[name].append(sample_for(c, events, "grounding", ev.event))
    dest = layout.splits_dir / version
    dest.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        (dest / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (dest / "manifest.json").write_text(json.dumps({"version": version}))
    (layout.splits_dir / "LATEST").write_text(version + "\n")
    return dest


@pytest.fixture(scope="session")
def demo_splits(tmp_path_factory) -> tuple[DataLayout, Path]:
    """(layout, splits version dir) with 8 real 4 fps demo clips; shared by the training tests."""
    layout = DataLayout(tmp_path_factory.mktemp("train_data"))
    clips = make_demo_clips(layout)
    return layout, write_splits(layout, clips)


#: the short names the tests use -> the training config's (TrainingArguments) names
ALIASES = {"batch_size": "per_device_train_batch_size", "grad_accum": "gradient_accumulation_steps",
           "warmup_ratio": "warmup_steps", "lr_scheduler": "lr_scheduler_type", "epochs": "num_train_epochs"}


def tiny_config(splits_dir: Path, out: Path, **over) -> dict:
    """A few-step CPU config for the tiny model (rank 16 and no demo pretraining unless asked: fast)."""
    cfg = {"model": "tiny", "splits_dir": str(splits_dir), "output_dir": str(out), "splits_version": "test-v1",
           "max_steps": 6, "learning_rate": 3e-3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1,
           "logging_steps": 1, "save_steps": 3, "warmup_steps": 0.0, "lr_scheduler_type": "constant", "seed": 0,
           "lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "demo_pretrain_steps": 0}
    cfg.update({ALIASES.get(k, k): v for k, v in over.items()})
    return cfg
