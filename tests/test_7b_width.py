"""The 7B rehearsed at full width on CPU: Qwen2.5-VL at the 7B's real widths with one text layer and one vision
block (random seeded weights, the real tokenizer) takes one training step through the project's trainer with the
7B preset's settings (LoRA r 64, gradient checkpointing, bf16 weights, the single-process ZeRO-2 config).

Two frames at the 7B's pixels (216 video tokens) instead of 32 keep the step to minutes on 2 cores; the bench
(bench/bench_7b_width.py) runs the full 32."""

import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

from football_assets.core.training.architectures import QWEN25_VL_7B
from football_assets.core.training.model import get_spec, tiny_config, width_spec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_7b_width import width_run_config  # noqa: E402

#: LoRA r 64 on one language-model layer: q, o (3584 -> 3584), k, v (3584 -> 512), gate, up, down (3584 <-> 18944)
LORA_ONE_LAYER = 64 * (2 * (3584 + 3584) + 2 * (3584 + 512) + 3 * (3584 + 18944))


def test_width_specs_are_the_7b_widths_with_few_layers():
    seven = QWEN25_VL_7B
    cfg = tiny_config(get_spec("qwen25vl-7b-width-t1v1"))
    for key in ("hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads"):
        assert cfg["text"][key] == seven["text"][key]
    assert cfg["vocab_size"] == 152064 and cfg["rope_theta"] == seven["text"]["rope_theta"]
    assert cfg["text"]["num_hidden_layers"] == 1 and cfg["vision"]["depth"] == 1
    for key in ("hidden_size", "intermediate_size", "num_heads", "patch_size", "temporal_patch_size", "spatial_merge_size",
                "window_size"):
        assert cfg["vision"][key] == seven["vision"][key]
    assert cfg["vision"]["fullatt_block_indexes"] == [0]  # at least one full-attention block
    assert tiny_config(width_spec(1, 2))["vision"]["fullatt_block_indexes"] == [1]
    assert tiny_config(width_spec(28, 32))["vision"]["fullatt_block_indexes"] == seven["vision"]["fullatt_block_indexes"]
    spec, seven_spec = get_spec("qwen25vl-7b-width-t2v1"), get_spec("cosmos-reason1-7b")
    assert (spec.max_frames, spec.min_pixels, spec.max_pixels) == (seven_spec.max_frames, seven_spec.min_pixels,
                                                                     seven_spec.max_pixels)
    assert spec.bundle_base is False  # ~1.1 B parameters: rebuilt from the seed, not copied into every adapter


def test_one_training_step_at_full_width(demo_splits, tmp_path):
    _, splits_dir = demo_splits
    out = tmp_path / "run"
    cfg = width_run_config("qwen25vl-7b-width-t1v1", splits_dir, out, steps=1, max_frames=2)
    assert cfg["lora_r"] == 64 and cfg["gradient_checkpointing"] and cfg["deepspeed"].endswith("ds_zero2.json")
    assert cfg["dtype"] == "bfloat16"
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.run([sys.executable, "-m", "football_assets.core.training.train", "--config", str(path)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 1 and m["engine"] == "DeepSpeedEngine" and m["world_size"] == 1
    assert m["params_trainable"] == LORA_ONE_LAYER  # LoRA on the language model only, vision tower frozen
    assert 1.3e9 < m["params_total"] < 1.45e9  # embeddings + LM head 2 x 545 M, one layer each, the merger
    assert m["tokens_seen"] > 216  # 2 frames of 336x504: 216 video tokens, plus the prompt and answer
    assert math.isfinite(m["first_loss"]) and m["first_loss"] > 5  # random weights over a 152,064-token vocabulary
    assert m["peak_memory_mb"] < 8 * 1024, f"the trainer's peak RSS was {m['peak_memory_mb']:.0f} MB"
    adapter = out / "adapter"
    assert (adapter / "adapter_config.json").exists() and not (adapter / "base").exists()
    meta = json.loads((adapter / "train_meta.json").read_text())
    assert meta["base_model"] == "qwen25vl-7b-width-t1v1" and meta["video_budget"]["max_frames"] == 2
    print(f"full-width step: peak RSS {m['peak_memory_mb'] / 1024:.2f} GB, train runtime {m['train_runtime_s']:.0f} s, "
          f"test process RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")


def test_seeded_init_is_deterministic_and_shaped_like_an_init():
    import torch

    from football_assets.core.training.model import SEED_POOL, seeded_init

    def net():
        return torch.nn.Sequential(torch.nn.Linear(1200, 1000), torch.nn.LayerNorm(1000), torch.nn.Linear(1000, 3))

    a, b, c = net(), net(), net()
    seeded_init(a, 0)
    seeded_init(b, 0)
    seeded_init(c, 1)
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), name
        if pa.dim() > 1:
            assert not torch.equal(pa, pc) and abs(pa.std().item() - 0.02) < 0.002
    assert a[0].weight.numel() > SEED_POOL  # tiled: rows start at different offsets of the pool
    assert not torch.equal(a[0].weight[0], a[0].weight[1])
    assert torch.equal(a[1].weight, torch.ones(1000)) and torch.equal(a[0].bias, torch.zeros(1000))
