"""The vLLM command that serves an adapter with the same video input as training (frames, fps, pixels).

vLLM resizes and samples video itself; unless told otherwise it uses the processor's defaults, so the
served model would see a different resolution and frame count than the adapter was trained on. The
command pins them from the run's settings, through ``video_inputs.processor_kwargs`` (the pixel budget and
the per-frame cap the training inputs were sized with). vLLM loads only LoRA on an unmodified base: an adapter for it
has no ``modules_to_save`` and no vision-tower LoRA (the preflight refuses both).
"""

from __future__ import annotations

import json
import shlex

from football_assets.core.events import TARGET_FPS
from football_assets.core.training.model import get_spec
from football_assets.core.training.video_inputs import VideoBudget, processor_kwargs


def vllm_command(values: dict, base: str = "/models/Cosmos-Reason1-7B", adapter: str = "/data/models/lora_adapter",
                 media_root: str = "/data", port: int = 8000) -> str:
    """``vllm serve`` for resolved training ``values`` (``presets.resolve``), one shell line per option."""
    spec = get_spec(values["model"])
    budget = VideoBudget(values.get("max_frames") or spec.max_frames, values.get("min_pixels") or spec.min_pixels,
                         values.get("max_pixels") or spec.max_pixels)
    args = [
        "vllm", "serve", base, "--enable-lora", "--lora-modules", f"football={adapter}",
        "--max-lora-rank", str(values.get("lora_r", 16)), "--max-model-len", "16384",
        "--limit-mm-per-prompt", json.dumps({"video": 1}),
        "--mm-processor-kwargs", json.dumps({"fps": TARGET_FPS, **processor_kwargs(budget)}),
        "--media-io-kwargs", json.dumps({"video": {"num_frames": budget.max_frames}}),
        "--allowed-local-media-path", media_root, "--port", str(port),
    ]
    out, line = [], []
    for a in args:
        if a.startswith("--") and line:
            out.append(" ".join(line))
            line = []
        line.append(shlex.quote(a))
    out.append(" ".join(line))
    return " \\\n    ".join(out)
