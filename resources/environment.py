"""Every setting the project takes from the process environment, read here and nowhere else.

Entry points (the CLI, the Dagster definitions, the trainers' ``main``) call these and pass plain values
into ``football_assets.core``, which never reads the environment itself. Standard library only: the
trainers import this in pods and on GPU machines without Dagster.

| variable | meaning | default |
|---|---|---|
| ``FOOTBALL_DATA_DIR`` | data root (clips, splits, models, reports, index) | ``./data`` |
| ``FOOTBALL_MANIFEST`` | the clip manifest | ``./sources.yaml`` |
| ``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY`` | the annotation server (unset: export files under ``<data>/labels``) | unset |
| ``LABEL_STUDIO_PROJECT`` | the project's title on that server | ``football-events`` |
| ``LABEL_STUDIO_PROJECT_ID`` | its id, for the review page's links to tasks | unset |
| ``FOOTBALL_GPU_PROFILE`` | hardware profile (``cpu``, ``a100-80gb``) | ``cpu`` |
| ``FOOTBALL_TRAIN_LAUNCHER``, ``FOOTBALL_GPUS`` | trainer launcher (``python``, ``torchrun``, ``deepspeed``), processes | ``python``, 1 |
| ``FOOTBALL_MODEL``, ``COSMOS_REASON1_PATH`` | the deployment's model; local Cosmos-Reason1-7B weights | unset |
| ``FOOTBALL_RETRAIN_AFTER`` | new submitted annotations that start a re-training | 20 |
| ``FOOTBALL_RETRAIN_CRON``, ``FOOTBALL_RETRAIN_TZ`` | the weekly re-training schedule | Mondays 03:00, UTC |
| ``FOOTBALL_INGEST_WORKERS`` | ffmpeg workers of an ingest run | the cores |
| ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` | set by torchrun / deepspeed for each process | one process |
| ``DAGSTER_PIPES_CONTEXT`` | set by Dagster for a trainer it launched through Pipes | unset |
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _get(name: str) -> str:
    return os.environ.get(name, "").strip()


def data_dir() -> Path:
    return Path(_get("FOOTBALL_DATA_DIR") or "data").resolve()


def manifest_path() -> Path:
    return Path(_get("FOOTBALL_MANIFEST") or "sources.yaml").resolve()


def label_studio() -> tuple[str, str]:
    """``(url, api_key)``; empty strings when no server is configured."""
    return _get("LABEL_STUDIO_URL"), _get("LABEL_STUDIO_API_KEY")


def label_studio_project() -> str:
    """The project title on the server ('' : the client's default, ``football-events``)."""
    return _get("LABEL_STUDIO_PROJECT")


def label_studio_project_id() -> int | None:
    value = _get("LABEL_STUDIO_PROJECT_ID")
    return int(value) if value.isdigit() else None


def gpu_profile() -> str:
    return _get("FOOTBALL_GPU_PROFILE") or "cpu"


def train_launcher() -> str:
    return _get("FOOTBALL_TRAIN_LAUNCHER") or "python"


def gpus() -> int:
    return int(_get("FOOTBALL_GPUS") or 1)


def model() -> str:
    return _get("FOOTBALL_MODEL")


def model_path() -> str:
    """A local copy of the Cosmos-Reason1-7B weights (``COSMOS_REASON1_PATH``), or ''."""
    return _get("COSMOS_REASON1_PATH")


def retrain_after() -> int:
    return int(_get("FOOTBALL_RETRAIN_AFTER") or 20)


def retrain_cron() -> str:
    """The schedule's 5-field cron, or '' for the default."""
    return _get("FOOTBALL_RETRAIN_CRON")


def retrain_tz() -> str:
    return _get("FOOTBALL_RETRAIN_TZ") or "UTC"


def ingest_workers() -> int | None:
    """ffmpeg workers per ingest run; None: one per core."""
    value = _get("FOOTBALL_INGEST_WORKERS")
    return int(value) if value else None


def rank() -> int:
    """This process's rank under torchrun / deepspeed (0 when launched alone)."""
    return int(_get("RANK") or 0)


def world_size() -> int:
    return int(_get("WORLD_SIZE") or 1)


def single_process_group() -> bool:
    """Set up a one-process distributed environment when no launcher did; True if it did.

    DeepSpeed needs a process group. Without torchrun/deepspeed's variables, ``deepspeed.initialize`` falls back
    to MPI discovery (``No module named 'mpi4py'``); with them it starts a one-member group (nccl on a GPU, gloo
    on CPU), so the trainer with a ZeRO config runs under the plain ``python`` launcher too."""
    if _get("RANK") and _get("WORLD_SIZE"):
        return False
    if not _get("MASTER_PORT"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["MASTER_PORT"] = str(s.getsockname()[1])
    os.environ.update(MASTER_ADDR=_get("MASTER_ADDR") or "127.0.0.1", RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
    return True


def launched_by_dagster_pipes() -> bool:
    """True in a trainer that Dagster's ``PipesSubprocessClient`` launched (it sets ``DAGSTER_PIPES_CONTEXT``)."""
    return bool(_get("DAGSTER_PIPES_CONTEXT"))


def child_env(pythonpath: str | Path, **extra: str) -> dict[str, str]:
    """The environment of a launched trainer: this one, ``pythonpath`` first on ``PYTHONPATH``, plus ``extra``."""
    path = os.pathsep.join(p for p in (str(pythonpath), _get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}
