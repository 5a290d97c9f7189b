"""The lora_adapter asset through real Dagster + Pipes: the trainer runs as a subprocess, rank 0 reports
its metrics, the adapter lands under <data>/models/lora_adapter, the check runs, a re-run is skipped."""

import json

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from football_assets.core import prompts
from football_assets.defs.training.assets import lora_adapter, lora_adapter_answers_json
from resources import DataDirResource
from resources.gpu import GpuResource


def run_config(**over):
    cfg = {"max_steps": 4, "per_device_train_batch_size": 2, "save_steps": 100, "learning_rate": 3e-3, "demo_pretrain_steps": 0}
    cfg.update(over)
    return {"ops": {"lora_adapter": {"config": cfg}}}


def test_lora_adapter_asset_trains_through_pipes(demo_splits):
    layout, _ = demo_splits
    resources = {"storage": DataDirResource(root=str(layout.root)), "gpu": GpuResource(profile="cpu", launcher="python")}
    instance = DagsterInstance.ephemeral()
    result = materialize([lora_adapter, lora_adapter_answers_json], resources=resources, instance=instance,
                         run_config=run_config(), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    mats = result.asset_materializations_for_node("lora_adapter")
    md = mats[-1].metadata
    assert md["steps"].value == 4 and md["tokens_per_s"].value > 0 and md["peak_memory_mb"].value > 0
    assert len(md["loss_curve"].value) == 4 and "data:image/png;base64" in md["loss_curve_plot"].value
    assert md["splits_version"].value == "test-v1"
    settings = md["settings"].value  # the values the trainer got, with where each came from
    assert settings["learning_rate"] == {"value": 3e-3, "from": "run config"}
    assert settings["lora_r"] == {"value": 64, "from": "default"} and settings["dtype"]["from"] == "profile"
    assert settings["model"]["value"] == "tiny" and "verdict: fits" in md["preflight"].value
    adapter = layout.adapter_dir
    meta = json.loads((adapter / "train_meta.json").read_text())
    assert meta["splits_version"] == "test-v1" and (adapter / "training_args.json").exists()
    assert (adapter / "base" / "config.json").exists() and (adapter / "processor_config.json").exists()
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 1 and checks[0].asset_key == AssetKey("lora_adapter")
    answer, why = checks[0].metadata["answer"].value, checks[0].metadata["result"].value
    task = checks[0].metadata["sample"].value.split(":")[1]
    try:
        prompts.parse_answer(task, answer)
        parses = True
    except prompts.AnswerParseError:
        parses = False
    assert checks[0].passed == parses  # the check passes exactly when the answer parses
    # constrained decoding (core/inference/constrained.py): even after 4 steps the answer has the asked format
    assert checks[0].passed and why.startswith("parsed"), (answer, why)
    # unchanged splits and config: no retraining
    again = materialize([lora_adapter], resources=resources, instance=instance, run_config=run_config())
    assert again.asset_materializations_for_node("lora_adapter")[-1].metadata["skipped"].value is True


def test_lora_adapter_without_splits_fails_clearly(tmp_path):
    resources = {"storage": DataDirResource(root=str(tmp_path)), "gpu": GpuResource()}
    with pytest.raises(FileNotFoundError, match="no SFT splits yet"):
        materialize([lora_adapter], resources=resources, instance=DagsterInstance.ephemeral(), run_config=run_config())
