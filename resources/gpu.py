"""Where and how the trainer runs: named hardware profiles and the launcher command.

``a100-80gb`` memory estimate for Cosmos-Reason1-7B (Qwen2.5-VL-7B: ~7.6 B LM + ~0.7 B ViT), per GPU,
batch 2 x 8 s clips at 4 fps, 336x504 frames (3456 video + ~300 text tokens per sample):

* base weights bf16, frozen: 8.3 B x 2 B = ~16.6 GB
* LoRA r=64 on 7 projections x 28 layers = ~161 M params; fp32 weights+grads+Adam = 16 B/param = ~2.6 GB
  (ZeRO-2 shards the grads and optimizer states over GPUs; negligible either way)
* activations with gradient checkpointing: 28 layer inputs x 3.8k tokens x 3584 x 2 B = ~0.8 GB/sample,
  one recomputed layer (MLP 18944 wide) ~0.5 GB, logits 3.8k x 152k vocab in fp32 ~2.3 GB/sample
  (labels mask most tokens but the logits are full) -> ~3.5 GB/sample, ~7 GB for batch 2
* frozen ViT forward (no grad), 13.8k patches x 1280: ~0.5 GB transient
* CUDA context, allocator fragmentation, DeepSpeed buckets (2e8 elements x 2 B x 2): ~6 GB
=> ~33 GB at batch 2: fits 80 GB with room for longer clips (raise max_frames to 64 for 16 s windows).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from dagster import ConfigurableResource

from football_assets.core.training.train import CONFIG_DIR

PROFILES: dict[str, dict] = {
    "a100-80gb": {
        "bf16": True, "gradient_checkpointing": True, "deepspeed": str(CONFIG_DIR / "ds_zero2.json"),
        "batch_size": 2, "grad_accum": 8, "max_frames": 32, "max_pixels": 336 * 504, "min_pixels": 28 * 28 * 16,
        "attn_implementation": "sdpa", "save_steps": 200,
    },
    "cpu": {"bf16": False, "gradient_checkpointing": False, "deepspeed": None, "dtype": "float32"},
}

LAUNCHERS = ("python", "torchrun", "deepspeed")


class GpuResource(ConfigurableResource):
    """Hardware profile + launcher for the LoRA trainer (``python`` / ``torchrun`` / ``deepspeed``).

    ``profile`` picks the training overrides (precision, ZeRO-2, checkpointing, batch, video budget);
    ``gpus`` is the process count for torchrun/deepspeed; ``model_path`` a local Cosmos-Reason1 copy.
    """

    profile: str = "cpu"
    launcher: str = "python"
    gpus: int = 1
    model_path: str = ""
    master_port: int = 29533

    def overrides(self) -> dict:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown GPU profile {self.profile!r}; known profiles: {', '.join(PROFILES)}")
        out = {k: v for k, v in PROFILES[self.profile].items()}
        if self.model_path:
            out["model_path"] = self.model_path
        return out

    def command(self, config_path: str | Path, module: str = "football_assets.core.training.train") -> list[str]:
        """The trainer command line (``module``: the LoRA trainer or the spotter's) for this launcher and GPU count."""
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"unknown launcher {self.launcher!r}; expected one of {', '.join(LAUNCHERS)}")
        if self.gpus < 1:
            raise ValueError(f"gpus must be >= 1, got {self.gpus}")
        module = ["-m", module, "--config", str(config_path)]
        bindir = Path(sys.executable).parent
        if self.launcher == "python":
            return [sys.executable, *module]
        if self.launcher == "torchrun":
            return [str(bindir / "torchrun"), f"--nproc_per_node={self.gpus}", f"--master_port={self.master_port}", *module]
        return [str(bindir / "deepspeed"), f"--num_gpus={self.gpus}", f"--master_port={self.master_port}", "--module", *module]

    def describe(self) -> str:
        return shlex.join(self.command("<config.json>"))
