"""What a training run reports: peak memory, the loss history, the loss-curve picture, and the Dagster
Pipes metadata rank 0 sends back."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_callback(history: list[dict], report=None, log_path: Path | None = None, what: str = "training",
                  reports: int = 50):
    """The trainer's logging, in place of transformers' console printer: each logged step goes to ``history``
    and, as a JSON line, to ``log_path`` (the run's log file); about ``reports`` times a run a progress line
    ``"<what>: <step>/<max_steps> steps (loss x)"`` goes to ``report`` (Dagster's event log under Pipes,
    where ``football-events run`` turns it into a progress bar)."""
    import json

    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            if not logs or not state.is_world_process_zero:
                return
            if log_path is not None:
                with open(log_path, "a") as f:
                    f.write(json.dumps({"step": state.global_step, **logs}) + "\n")
            if "loss" not in logs:
                return
            history.append({"step": state.global_step, "loss": float(logs["loss"]), "epoch": float(logs.get("epoch", 0)),
                            "tokens_seen": int(state.num_input_tokens_seen)})
            every = max(1, state.max_steps // reports)
            if report and (state.global_step % every == 0 or state.global_step == state.max_steps):
                report(f"{what}: {state.global_step}/{state.max_steps} steps (loss {float(logs['loss']):.3f})")

    return Progress()


def quiet_console(trainer) -> None:
    """No per-step dictionaries on stdout (``make_callback`` logs them to the run's file and Dagster)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def plot_loss(history: list[dict], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, losses = [h["step"] for h in history], [h["loss"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, losses, marker=".", markersize=2, linewidth=0.5, alpha=0.4, label="per step")
    k = max(1, len(losses) // 50)  # a moving average over ~2% of the run, so the trend reads at 1,000+ steps
    if k > 1:
        smooth = [sum(losses[max(0, i - k + 1):i + 1]) / len(losses[max(0, i - k + 1):i + 1]) for i in range(len(losses))]
        ax.plot(steps, smooth, linewidth=1.8, label=f"mean of last {k}")
        ax.legend()
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title("LoRA training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(dest, dpi=100)
    plt.close(fig)


def pipes_metadata(info: dict) -> dict:
    """Materialization metadata: numbers as floats/ints, the loss curve as JSON."""
    md = {}
    for k, v in info.items():
        if k == "loss_curve":
            md[k] = {"raw_value": v, "type": "json"}
        elif isinstance(v, bool) or v is None:
            md[k] = {"raw_value": str(v), "type": "text"}
        elif isinstance(v, (int, float)):
            md[k] = {"raw_value": v, "type": "float" if isinstance(v, float) else "int"}
        else:
            md[k] = {"raw_value": str(v), "type": "text"}
    return md


TRAINER_LOG = "trainer.log"


def console_to_log(config_path: str | Path) -> Path | None:
    """Under Dagster Pipes, send this process's stdout and stderr (library warnings, tracebacks) to
    ``<output_dir>/trainer.log`` instead of the orchestrator's console; return that path (None otherwise).
    ``defs/training/pipes.py`` quotes the log's last line when the trainer fails."""
    import json
    import os
    import sys

    from resources import environment

    if not environment.launched_by_dagster_pipes():
        return None
    try:
        out = Path(json.loads(Path(config_path).read_text())["output_dir"])
    except (OSError, ValueError, KeyError):
        return None  # the config's own error is reported as it is
    out.mkdir(parents=True, exist_ok=True)
    log = out / TRAINER_LOG
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return log


def run_under_pipes(run, cfg, version: str, rank: int) -> dict:
    """Run ``run(cfg, report=...)``. Launched by Dagster's ``PipesSubprocessClient`` (and on rank 0), log
    progress to Dagster and report the returned metrics as the asset's materialization; else just run."""
    from resources import environment

    if environment.launched_by_dagster_pipes() and rank == 0:
        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            info = run(cfg, report=pipes.log.info)
            pipes.report_asset_materialization(metadata=pipes_metadata(info), data_version=version)
        return info
    return run(cfg)
