"""Launching a trainer out of process through Dagster Pipes, shared by ``lora_adapter`` and ``event_spotter``:
the repository root on the child's ``PYTHONPATH``, rank 0's reported metrics back as metadata, and the
loss curve inlined as a picture."""

import base64
import os
from pathlib import Path

from dagster import AssetExecutionContext, MetadataValue, PipesSubprocessClient

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_trainer(context: AssetExecutionContext, command: list[str], output_dir: str | Path) -> dict:
    """Run ``command`` under ``PipesSubprocessClient``; return the materialization metadata it reported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    context.log.info(f"launching: {' '.join(command)}")
    result = PipesSubprocessClient(env=env).run(command=command, context=context).get_materialize_result()
    md = dict(result.metadata or {})
    png = Path(output_dir) / "loss_curve.png"
    if png.exists():
        data = base64.b64encode(png.read_bytes()).decode()
        md["loss_curve_plot"] = MetadataValue.md(f"![loss curve](data:image/png;base64,{data})")
    return md
