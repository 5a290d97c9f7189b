"""sft_splits through real Dagster materializations on real 4 fps demo clips: files, metadata, data
version stability, and blocking checks that stop a leaking or broken split from reaching training."""

import json
import subprocess

from dagster import AssetKey, DagsterInstance, asset, materialize

from football_assets.core.dataset import checks, store
from football_assets.core.fsutil import read_json, write_json
from football_assets.defs.dataset.assets import sft_splits
from resources import DataDirResource
from tests.fixtures_dataset import make_splits_from


@asset(deps=[sft_splits])
def trainer_stub() -> None:
    """Stands in for the training asset: it must never run after a failed blocking check."""


def run(data, instance=None):
    return materialize([sft_splits, trainer_stub], instance=instance or DagsterInstance.ephemeral(),
                       resources={"storage": DataDirResource(root=str(data.layout.root))}, raise_on_error=False)


def check_outcomes(result) -> dict[str, tuple[bool, str]]:
    return {e.asset_check_evaluation_data.check_name: (e.asset_check_evaluation_data.passed,
                                                       e.asset_check_evaluation_data.description)
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def meta(result) -> dict:
    mat = result.asset_materializations_for_node("sft_splits")[-1]
    return {k: v.value for k, v in mat.metadata.items()}


def data_version(instance) -> str:
    record = instance.get_latest_materialization_event(AssetKey("sft_splits"))
    return record.asset_materialization.tags["dagster/data_version"]


def trainer_ran(result) -> bool:
    return any(e.step_key == "trainer_stub" and e.event_type_value == "STEP_SUCCESS" for e in result.all_events)


def test_materialize_writes_checked_splits_and_keeps_its_version(demo_data):
    instance = DagsterInstance.ephemeral()
    result = run(demo_data, instance)
    assert result.success
    assert set(check_outcomes(result)) == set(checks.CHECKS) and all(p for p, _ in check_outcomes(result).values()), check_outcomes(result)
    assert trainer_ran(result)
    m = meta(result)
    loaded = store.load_latest(demo_data.layout)
    assert loaded.version == m["version"] == data_version(instance)
    assert {s: len(v) for s, v in loaded.items()} == {"train": m["train"], "val": m["val"], "test": m["test"]}
    assert m["clips"] == 16 and m["sources"] == 4 and m["skipped_clips"] == 0 and m["cached"] is False
    assert "| Red card |" in m["summary"] and "| all samples |" in m["summary"]
    assert (loaded.path / "llamafactory" / "train.json").exists()
    assert loaded["train"][0]["video"].startswith(str(demo_data.layout.clips_dir))
    assert not [p for p in demo_data.layout.splits_dir.rglob(".*")]  # no temp leftovers
    # unchanged inputs: same data version, nothing rewritten
    stamp = (loaded.path / "train.jsonl").stat().st_mtime_ns
    again = run(demo_data, instance)
    assert again.success and meta(again)["cached"] is True and data_version(instance) == loaded.version
    assert (loaded.path / "train.jsonl").stat().st_mtime_ns == stamp
    # an edited annotation: a new version
    events, tasks = demo_data.frames()
    events.loc[events.index[0], "description"] = "A corrected description."
    from football_assets.core.annotation import snapshots

    snapshots.write_snapshot(demo_data.layout, events, tasks)
    changed = run(demo_data, instance)
    assert changed.success and data_version(instance) != loaded.version
    assert store.load_latest(demo_data.layout).version == data_version(instance)


def test_missing_class_blocks_training_and_names_the_class(demo_data):
    instance = DagsterInstance.ephemeral()
    assert run(demo_data, instance).success
    good = store.load_latest(demo_data.layout).version
    demo_data.write_snapshot([c for c in demo_data.plan if all(e.event != "Red card" for e in c.events)])
    result = run(demo_data, instance)
    assert not result.success and not trainer_ran(result)
    passed, description = check_outcomes(result)["all_classes_in_train"]
    assert not passed and description == "missing from train: Red card"
    assert meta(result)["latest_moved"] is False
    assert store.load_latest(demo_data.layout).version == good  # training keeps reading the good split


def test_leaking_footage_blocks_training(demo_data):
    """The same video registered as two clips of different matches ends up in two splits: a leak."""
    planned = make_splits_from(demo_data)  # where each clip will land
    a, b = planned["train"][0]["clip_id"], planned["test"][0]["clip_id"]
    layout = demo_data.layout
    layout.clip(b).write_bytes(layout.clip(a).read_bytes())
    facts = read_json(layout.clip_facts(b))
    write_json(layout.clip_facts(b), {**facts, "sha256": read_json(layout.clip_facts(a))["sha256"]})
    result = run(demo_data)
    assert not result.success and not trainer_ran(result)
    passed, description = check_outcomes(result)["no_source_leakage"]
    assert not passed and "videos in two splits" in description and "train+test" in description


def test_malformed_answer_and_bad_video_block_training(demo_data):
    """A split file damaged and a clip replaced after they were written (the checks read the files)."""
    assert run(demo_data).success
    loaded = store.load_latest(demo_data.layout)
    rows = loaded["val"]
    bad = next(r for r in rows if r["task"] == "events")
    bad["messages"][2]["content"] = '[{"event": "Goal", "start_time": 2.0, "end_time": 1.0}]'
    (loaded.path / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
                    "-c:v", "libx264", "-preset", "ultrafast", str(demo_data.layout.clip(loaded["test"][0]["clip_id"]))],
                   check=True)
    result = run(demo_data)
    assert not result.success and not trainer_ran(result)
    c = check_outcomes(result)
    assert c["answers_round_trip"][0] is False and bad["id"] in c["answers_round_trip"][1]
    assert "start_time 2.0 must be before end_time 1.0" in c["answers_round_trip"][1]
    assert c["videos_exist_4fps"][0] is False and "25.000 fps, expected 4" in c["videos_exist_4fps"][1]
    assert c["no_source_leakage"][0] and c["val_test_nonempty"][0]
