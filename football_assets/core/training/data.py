"""Training data: chat samples of one split -> model inputs (labels only on the assistant answer), and the
collator that pads a batch and packs its videos."""

from __future__ import annotations

from pathlib import Path

from football_assets.core.fsutil import read_jsonl
from football_assets.core.training.train_args import TrainConfig, TrainConfigError


class SFTDataset:
    """Chat samples -> model inputs; labels only on the assistant answer (and its end token)."""

    def __init__(self, samples: list[dict], processor, cache):
        self.samples, self.processor, self.cache = samples, processor, cache
        self.tok = processor.tokenizer

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        import torch

        from football_assets.core.training.video_inputs import build_prompt_inputs

        s = self.samples[i]
        video = self.cache.get(s["video"], s.get("fps"))
        prompt = build_prompt_inputs(self.processor, s["messages"], video)
        answer = next(m["content"] for m in s["messages"] if m["role"] == "assistant")
        ans_ids = torch.tensor(self.tok(answer + "<|im_end|>\n", add_special_tokens=False)["input_ids"])
        ids = torch.cat([prompt["input_ids"], ans_ids])
        labels = torch.cat([torch.full_like(prompt["input_ids"], -100), ans_ids])
        return {"input_ids": ids, "labels": labels, "mm_token_type_ids": torch.cat([prompt["mm_token_type_ids"], torch.zeros_like(ans_ids)]),
                "pixel_values_videos": video["pixel_values_videos"], "video_grid_thw": video["video_grid_thw"],
                "second_per_grid_ts": video["second_per_grid_ts"]}


class Collator:
    """Right-pads a batch and concatenates the videos' patches (Qwen2.5-VL packs them flat)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: list[dict]) -> dict:
        import torch

        n = max(len(b["input_ids"]) for b in batch)

        def pad(key, value):
            return torch.stack([torch.nn.functional.pad(b[key], (0, n - len(b[key])), value=value) for b in batch])

        out = {"input_ids": pad("input_ids", self.pad_id), "labels": pad("labels", -100),
               "mm_token_type_ids": pad("mm_token_type_ids", 0),
               "attention_mask": torch.stack([torch.nn.functional.pad(torch.ones(len(b["input_ids"]), dtype=torch.long), (0, n - len(b["input_ids"]))) for b in batch]),
               "pixel_values_videos": torch.cat([b["pixel_values_videos"] for b in batch]),
               "video_grid_thw": torch.cat([b["video_grid_thw"] for b in batch]),
               "second_per_grid_ts": torch.tensor([t for b in batch for t in b["second_per_grid_ts"]])}
        return out


def load_samples(cfg: TrainConfig, split: str = "train") -> list[dict]:
    path = Path(cfg.splits_dir) / f"{split}.jsonl"
    if not path.exists():
        raise TrainConfigError(f"splits_dir {cfg.splits_dir}: {path.name} missing")
    samples = [s for s in read_jsonl(path) if s.get("task", "events") in cfg.tasks]
    if cfg.max_train_samples:
        samples = samples[: cfg.max_train_samples]
    if not samples:
        raise TrainConfigError(f"{path}: no samples of task(s) {cfg.tasks}")
    for s in samples:
        if not Path(s["video"]).exists():
            raise TrainConfigError(f"sample {s.get('id')}: video {s['video']} does not exist")
    return samples
