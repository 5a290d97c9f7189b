"""The event_spotter asset through real Dagster + Pipes: the spotter trainer runs as a subprocess, rank 0
reports its metrics, the spotter lands under <data>/models/event_spotter, its check scores a val clip,
a re-run is skipped, and it sits beside lora_adapter in the code location."""

import json

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from football_assets.defs.training.spotter import event_spotter, event_spotter_scores_val_clip
from resources import DataDirResource
from resources.gpu import GpuResource

RUN = {"ops": {"event_spotter": {"config": {"max_steps": 4, "batch_size": 2, "cnn_width": 8, "height": 64, "width": 96,
                                            "cpu_threads": 1}}}}


def test_event_spotter_asset_trains_through_pipes(demo_splits):
    layout, _ = demo_splits
    resources = {"storage": DataDirResource(root=str(layout.root)), "gpu": GpuResource(profile="cpu", launcher="python")}
    instance = DagsterInstance.ephemeral()
    result = materialize([event_spotter, event_spotter_scores_val_clip], resources=resources, instance=instance,
                         run_config=RUN, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    md = result.asset_materializations_for_node("event_spotter")[-1].metadata
    assert md["steps"].value == 4 and md["score_frames_per_s"].value > 0 and md["splits_version"].value == "test-v1"
    assert 0 <= md["val_tight_a_mAP"].value <= 1 and "data:image/png;base64" in md["loss_curve_plot"].value
    spotter_dir = layout.spotter_dir
    assert json.loads((spotter_dir / "train_meta.json").read_text())["splits_version"] == "test-v1"
    assert json.loads((spotter_dir / "thresholds.json").read_text())["chosen_on"] == "val"
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 1 and checks[0].asset_key == AssetKey("event_spotter") and checks[0].passed
    assert checks[0].metadata["frames"].value == 32 and 0 <= checks[0].metadata["score_min"].value
    again = materialize([event_spotter], resources=resources, instance=instance, run_config=RUN)
    assert again.asset_materializations_for_node("event_spotter")[-1].metadata["skipped"].value is True


def test_event_spotter_without_splits_fails_clearly(tmp_path):
    resources = {"storage": DataDirResource(root=str(tmp_path)), "gpu": GpuResource()}
    with pytest.raises(FileNotFoundError, match="no SFT splits yet"):
        materialize([event_spotter], resources=resources, instance=DagsterInstance.ephemeral(), run_config=RUN)


def test_event_spotter_sits_beside_lora_adapter():
    from football_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    spot, lora = graph.get(AssetKey("event_spotter")), graph.get(AssetKey("lora_adapter"))
    assert spot.group_name == lora.group_name == "training" and spot.pools == {"gpu"}
    assert AssetKey("sft_splits") in spot.parent_keys
