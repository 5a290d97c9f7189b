"""The vLLM command that serves an adapter with the same video input as training (frames, fps, pixels).

vLLM resizes and samples video itself; unless told otherwise it uses the processor's defaults, so the
served model would see a different resolution and frame count than the adapter was trained on. The
command pins them from the run's settings, through ``video_inputs.processor_kwargs`` (the pixel budget and
the per-frame cap the training inputs were sized with). vLLM loads only LoRA on an unmodified base: an adapter for it
has no ``modules_to_save`` and no vision-tower LoRA (the preflight refuses both).

Answers are decoded against the same grammar as the project's own predictor (``constrained.AnswerFormat``):
the server runs vLLM's structured outputs with the xgrammar backend and each request carries the grammar
of its task (``vllm_request``). What a grammar cannot say (end after start, times within the clip) the
predictor enforces in its decode step; vLLM's OpenAI server takes no such per-request rule, so a served
answer can still fail ``prompts.parse_*`` on a span, never on its format.

Time on the frames (``VideoBudget.timestamps``, on for Cosmos-Reason1): vLLM decodes and resizes the video
it is sent, so the times are drawn client side. ``vllm_video`` renders a clip as the model sees it: every
frame at the final frame size with its time strip (``video_inputs.model_frames``, the training code),
encoded losslessly (FFV1), so vLLM's resize is a no-op and its frames are the training pixels.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

from football_assets.core import prompts
from football_assets.core.events import TARGET_FPS
from football_assets.core.inference.constrained import answer_format
from football_assets.core.training.video_inputs import VideoBudget, model_frames, processor_kwargs


def vllm_command(values: dict, base: str = "/models/Cosmos-Reason1-7B", adapter: str = "/data/models/lora_adapter",
                 media_root: str = "/data", port: int = 8000) -> str:
    """``vllm serve`` for resolved training ``values`` (``train_args.resolve``), one shell line per option."""
    budget = VideoBudget(values["max_frames"], values["min_pixels"], values["max_pixels"], bool(values.get("timestamps")))
    args = [
        "vllm", "serve", base, "--enable-lora", "--lora-modules", f"football={adapter}",
        "--max-lora-rank", str(values["lora_r"]), "--max-model-len", "16384",
        "--limit-mm-per-prompt", json.dumps({"video": 1}),
        "--mm-processor-kwargs", json.dumps({"fps": TARGET_FPS, **processor_kwargs(budget)}),
        "--media-io-kwargs", json.dumps({"video": {"num_frames": budget.max_frames}}),
        "--allowed-local-media-path", media_root, "--port", str(port),
        "--structured-outputs-config", json.dumps({"backend": "xgrammar"}),
    ]
    out, line = [], []
    for a in args:
        if a.startswith("--") and line:
            out.append(" ".join(line))
            line = []
        line.append(shlex.quote(a))
    out.append(" ".join(line))
    return " \\\n    ".join(out)


def vllm_request(video_url: str, instruction: str = prompts.EVENTS_INSTRUCTION, model: str = "football",
                 max_tokens: int = 512) -> dict:
    """The chat-completions body for one clip: the training prompt and, as ``structured_outputs``, the
    grammar of the answer format the instruction asks for (the one the predictor decodes against)."""
    fmt = answer_format(instruction)
    if fmt is None:
        raise ValueError(f"vLLM request: the instruction is not one of the project's prompts: {instruction[:80]!r}")
    return {"model": model, "temperature": 0, "max_tokens": max_tokens,
            "messages": [{"role": "system", "content": prompts.SYSTEM_PROMPT},
                         {"role": "user", "content": [{"type": "video_url", "video_url": {"url": video_url}},
                                                      {"type": "text", "text": instruction}]}],
            "structured_outputs": {"grammar": fmt.ebnf()}}


def vllm_video(src: str | os.PathLike, dst: str | os.PathLike, processor, budget: VideoBudget,
               fps: float | None = None) -> Path:
    """Write ``src`` as the model sees it to ``dst`` (``.mkv``, FFV1, lossless): every frame at the final frame
    size, with its time drawn on it when ``budget.timestamps``; send this file to a vLLM server whose command
    ``vllm_command`` printed for the same settings. ``processor``: the model's (its patch geometry)."""
    from football_assets.core.fsutil import atomic_path

    dst = Path(dst)
    if dst.suffix != ".mkv":
        raise ValueError(f"vllm_video: {dst} must end in .mkv (FFV1, the lossless codec vLLM's decoders read)")
    clip = model_frames(src, processor.video_processor, budget, fps, every_frame=True)
    frames = clip["frames"]
    t, h, w, _ = frames.shape
    with atomic_path(dst) as tmp:
        done = subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(clip["fps"]),
             "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", "-f", "matroska", str(tmp)],
            input=frames.tobytes(), capture_output=True)
        if done.returncode != 0:
            raise ValueError(f"vllm_video: ffmpeg could not write {dst}: {done.stderr.decode(errors='replace').strip()}")
    return dst
