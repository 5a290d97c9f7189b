"""The trainer's command line for a launcher (python / torchrun / deepspeed) and a process count.

``python`` runs one process; with a DeepSpeed config the trainer then sets up a one-process distributed
environment itself (``train.single_process_distributed_env``). ``torchrun`` and ``deepspeed`` start
``gpus`` processes on this host.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

LAUNCHERS = ("python", "torchrun", "deepspeed")
TRAIN_MODULE = "football_assets.core.training.train"


#: glibc malloc settings for a trainer on CPU. Above 32 MB glibc serves every allocation with a fresh mmap and
#: unmaps it on free, so each step's 150 MB logits (answer positions x 152k vocabulary) and their gradients are
#: page-faulted in again, which cost a fifth of the tiny model's step. Without mmap and trimming, freed memory
#: is reused (bench/RESULTS.md, "CPU training step"). Environment variables, because glibc reads them at start.
CPU_ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(64 * 2**30)}


def launch_env(profile: str) -> dict[str, str]:
    """What a trainer process on ``profile`` gets added to its environment: on ``cpu``, DeepSpeed's accelerator
    (``DS_ACCELERATOR=cpu``, instead of a guess with a warning on the console) and ``CPU_ALLOCATOR_ENV``."""
    return {"DS_ACCELERATOR": "cpu", **CPU_ALLOCATOR_ENV} if profile == "cpu" else {}


def launch_command(launcher: str, gpus: int, config_path: str | Path, master_port: int = 29533,
                   module: str = TRAIN_MODULE) -> list[str]:
    """The trainer command line (``module``: the LoRA trainer or the spotter's); an unknown launcher or a
    process count below 1 is an error naming it."""
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; expected one of {', '.join(LAUNCHERS)}")
    if gpus < 1:
        raise ValueError(f"gpus must be >= 1, got {gpus}")
    module = ["-m", module, "--config", str(config_path)]
    bindir = Path(sys.executable).parent
    if launcher == "python":
        return [sys.executable, *module]
    if launcher == "torchrun":
        return [str(bindir / "torchrun"), f"--nproc_per_node={gpus}", f"--master_port={master_port}", *module]
    return [str(bindir / "deepspeed"), f"--num_gpus={gpus}", f"--master_port={master_port}", "--module", *module]


def describe(launcher: str, gpus: int, master_port: int = 29533, module: str = TRAIN_MODULE) -> str:
    return shlex.join(launch_command(launcher, gpus, "<config.json>", master_port, module))
