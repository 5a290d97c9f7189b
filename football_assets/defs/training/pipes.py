"""Launching a trainer out of process through Dagster Pipes, shared by ``lora_adapter`` and ``event_spotter``:
the repository root on the child's ``PYTHONPATH``, rank 0's reported metrics back as metadata, and the
loss curve inlined as a picture."""

import base64
import warnings
from pathlib import Path

from dagster import AssetExecutionContext, Failure, MetadataValue, PipesSubprocessClient

from football_assets.core.training.progress import TRAINER_LOG
from resources import environment

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_trainer(context: AssetExecutionContext, command: list[str], output_dir: str | Path, profile: str = "cpu") -> dict:
    """Run ``command`` under ``PipesSubprocessClient``; return the materialization metadata it reported.

    On the ``cpu`` profile DeepSpeed is told its accelerator (``DS_ACCELERATOR=cpu``) instead of guessing it
    with a warning on the console."""
    env = environment.child_env(REPO_ROOT, **({"DS_ACCELERATOR": "cpu"} if profile == "cpu" else {}))
    context.log.info(f"launching: {' '.join(command)}")
    with warnings.catch_warnings():
        # Dagster's own PipesSubprocessClient calls its preview API `PipesMessageReader.expected_writer_count`
        # (dagster 1.13): nothing of ours to change, so its PreviewWarning is not shown to the user.
        warnings.filterwarnings("ignore", message=".*expected_writer_count.*")
        try:
            result = PipesSubprocessClient(env=env).run(command=command, context=context).get_materialize_result()
        except Exception as exc:  # the client's error class is not public: whatever it raised, quote the trainer's log
            log = Path(output_dir) / TRAINER_LOG
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
            if not lines:
                raise
            raise Failure(description=f"trainer failed: {lines[-1].strip()} (log: {log}; {exc})") from None
    md = dict(result.metadata or {})
    png = Path(output_dir) / "loss_curve.png"
    if png.exists():
        data = base64.b64encode(png.read_bytes()).decode()
        md["loss_curve_plot"] = MetadataValue.md(f"![loss curve](data:image/png;base64,{data})")
    return md
