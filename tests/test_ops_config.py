"""Operations config: the code location validates, dagster.yaml makes the instance we document (run queue,
gpu pool of 1, retries, no telemetry), the re-training schedule, and the Kubernetes examples."""

import datetime
import json
import os
import subprocess

import pytest
import yaml
from dagster import DagsterInstance, build_schedule_context
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config_schema
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._utils.schedules import cron_string_iterator

from deploy import pools
from football_assets.definitions import defs
from football_assets.defs.ingest.jobs import ingest_job
from football_assets.defs.placement import CPU_TAGS, GPU_POOL, GPU_TRAINING_TAGS, K8S_CONFIG_TAG
from football_assets.defs.training import schedules
from football_assets.defs.training.jobs import training_job
from tests.fixtures_ops import BIN, ROOT, instance_at

DEPLOY = ROOT / "deploy"


def test_definitions_validate_with_workspace(ops_home):
    out = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], cwd=ROOT,
                         env={**os.environ, "DAGSTER_HOME": str(ops_home)}, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Validation successful for code location football_events" in out.stdout + out.stderr


def test_instance_from_dagster_yaml(ops_home):
    with instance_at(ops_home) as instance:
        assert not instance.telemetry_enabled
        assert not instance.nux_enabled
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 2
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert instance.run_monitoring_enabled
        assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"
        assert list(ops_home.rglob("*.db")), "no SQLite database under DAGSTER_HOME"

        assert pools.apply(instance) == {"gpu": 1}
        assert pools.apply(instance) == {"gpu": 1}  # idempotent
        assert instance.event_log_storage.get_concurrency_info("gpu").slot_count == 1
        instance.event_log_storage.set_concurrency_slots("gpu", 3)  # drifted: apply puts it back
        assert pools.apply(instance) == {"gpu": 1}


def test_make_dagster_home_sets_gpu_pool(tmp_path):
    home = tmp_path / "made_home"
    for _ in range(2):  # the second run must be a no-op that still succeeds
        out = subprocess.run(["make", "-s", "dagster-home", f"DAGSTER_HOME={home}"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
    with instance_at(home) as instance:
        assert instance.event_log_storage.get_concurrency_info("gpu").slot_count == 1


def test_weekly_retrain_schedule():
    schedule = defs.get_schedule_def("weekly_retrain_schedule")
    assert schedule.job_name == training_job.name
    assert schedule.cron_schedule == schedules.DEFAULT_RETRAIN_CRON
    when = datetime.datetime(2026, 11, 23, 3, 0, tzinfo=datetime.timezone.utc)  # a Monday, 03:00
    with DagsterInstance.ephemeral() as instance:
        result = schedule.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert len(result.run_requests) == 1
    tags = result.run_requests[0].tags
    assert tags["dagster/max_retries"] == str(schedules.RETRAIN_MAX_RETRIES)
    assert tags["dagster/retry_on_asset_or_op_failure"] == "false"
    ticks = cron_string_iterator(when.timestamp(), schedule.cron_schedule, schedule.execution_timezone)
    assert [next(ticks) - when for _ in range(2)] == [datetime.timedelta(0), datetime.timedelta(days=7)]


def test_retrain_cron_from_env(monkeypatch):
    monkeypatch.setenv("FOOTBALL_RETRAIN_CRON", "30 1 * * *")
    assert schedules.retrain_cron() == "30 1 * * *"
    monkeypatch.setenv("FOOTBALL_RETRAIN_CRON", "every monday")
    with pytest.raises(ValueError, match="FOOTBALL_RETRAIN_CRON='every monday' is not a valid"):
        schedules.retrain_cron()
    # the env var is read when the code location loads: a fresh interpreter picks it up
    code = "from football_assets.defs.training.schedules import weekly_retrain_schedule as s; print(s.cron_schedule)"
    out = subprocess.run([str(BIN / "python"), "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "FOOTBALL_RETRAIN_CRON": "0 4 * * 0"})
    assert out.stdout.strip().splitlines()[-1] == "0 4 * * 0", out.stderr


def test_sensors_target_their_jobs():
    targets = {s.name: {t.job_name for t in s.targets} for s in defs.sensors}
    assert targets["clip_sources_sensor"] == {ingest_job.name}
    retrainers = [name for name, jobs in targets.items() if training_job.name in jobs]
    assert retrainers, f"no sensor launches {training_job.name} (the Label Studio sensor should): {targets}"


# ---------------------------------------------------------------- Kubernetes examples

def _k8s_job(tags: dict):
    from dagster_k8s.job import DagsterK8sJobConfig, construct_dagster_k8s_job, get_user_defined_k8s_config

    user = get_user_defined_k8s_config({k: json.dumps(v) for k, v in tags.items()})
    config = DagsterK8sJobConfig(job_image="football-events:test", dagster_home="/opt/dagster/dagster_home",
                                 instance_config_map="dagster-instance")
    return construct_dagster_k8s_job(config, ["dagster", "api", "execute_step"], "step-job", user_defined_k8s_config=user)


def test_training_tags_make_a_gpu_pod_and_preprocessing_a_cpu_pod():
    gpu = _k8s_job(GPU_TRAINING_TAGS).spec.template.spec
    assert gpu.containers[0].resources.limits["nvidia.com/gpu"] == "1"
    assert gpu.containers[0].resources.requests["nvidia.com/gpu"] == "1"
    assert gpu.tolerations[0].key == "nvidia.com/gpu"
    cpu = _k8s_job(CPU_TAGS).spec.template.spec
    res = cpu.containers[0].resources
    assert "nvidia.com/gpu" not in {**(res.limits or {}), **(res.requests or {})}
    assert res.requests["cpu"] == "2"


def test_gpu_tags_and_gpu_pool_go_together():
    """Any asset that asks Kubernetes for a GPU also queues on the `gpu` pool, and vice versa."""
    for spec_asset in defs.assets:
        for key in spec_asset.keys:
            op_tags = spec_asset.op.tags if hasattr(spec_asset, "op") else {}
            wants_gpu = "nvidia.com/gpu" in json.dumps(op_tags.get(K8S_CONFIG_TAG, {}))
            in_gpu_pool = getattr(spec_asset.op, "pool", None) == GPU_POOL
            assert wants_gpu == in_gpu_pool, f"{key.to_user_string()}: gpu tags {wants_gpu}, gpu pool {in_gpu_pool}"


PG_ENV = {"DAGSTER_PG_HOST": "db", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "dagster",
          "DAGSTER_PG_PASSWORD": "x", "DAGSTER_PG_DB": "dagster"}


def test_k8s_instance_and_executor_config_validate(monkeypatch):
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    from dagster_k8s import K8sRunLauncher, k8s_job_executor

    instance_cfg = yaml.safe_load((DEPLOY / "k8s" / "dagster-instance.yaml").read_text())
    launcher = process_config(K8sRunLauncher.config_type(), instance_cfg["run_launcher"]["config"])
    assert launcher.success, launcher.errors
    whole = process_config(dagster_instance_config_schema(), instance_cfg)
    assert whole.success, whole.errors
    run_cfg = yaml.safe_load((DEPLOY / "k8s" / "training_job_k8s.yaml").read_text())
    executor = process_config(k8s_job_executor.config_schema.config_type, run_cfg["execution"]["config"])
    assert executor.success, executor.errors


def test_helm_values_point_at_our_code_location():
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    deployment = values["dagster-user-deployments"]["deployments"][0]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == "football_assets.definitions"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["telemetry"]["enabled"] is False
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    mounts = {m["mountPath"] for m in deployment["volumeMounts"]}
    assert {m["mountPath"] for m in values["runLauncher"]["config"]["k8sRunLauncher"]["volumeMounts"]} == mounts


def test_postgres_example_validates(monkeypatch):
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    cfg = yaml.safe_load((DEPLOY / "dagster-postgres.yaml").read_text())
    result = process_config(dagster_instance_config_schema(), cfg)
    assert result.success, result.errors
    ours = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert cfg["run_retries"] == ours["run_retries"] and cfg["telemetry"] == ours["telemetry"]


def test_deepspeed_pipes_pod_example_builds_a_multi_gpu_pod():
    from dagster_k8s.pipes import build_pod_body

    cfg = yaml.safe_load((DEPLOY / "k8s" / "deepspeed_pipes.yaml").read_text())
    command = [*cfg["command"], "--config", "/data/models/runs/v1/train_config.json"]
    pod = build_pod_body("lora-adapter-train", cfg["image"], command, {"DAGSTER_PIPES_CONTEXT": "e30="}, None,
                         cfg["base_pod_spec"])
    container = pod.spec.containers[0]
    assert container.command[:3] == ["deepspeed", "--num_gpus", str(cfg["gpus"])]
    assert container.command[container.command.index("--module") + 1] == "football_assets.core.training.train"
    assert container.resources.limits["nvidia.com/gpu"] == str(cfg["gpus"])
    assert {m.mount_path for m in container.volume_mounts} == {"/data", "/dev/shm"}
    assert "DAGSTER_PIPES_CONTEXT" in {e.name for e in container.env}


def test_a_new_adapter_is_evaluated_automatically():
    """Declarative automation: evaluation_report follows lora_adapter eagerly."""
    from dagster import AssetKey

    from football_assets.definitions import defs

    node = defs.resolve_asset_graph().get(AssetKey("evaluation_report"))
    assert node.automation_condition is not None
    assert node.automation_condition.get_label() == "eager"
    assert defs.resolve_asset_graph().get(AssetKey("raw_clips")).automation_condition is None
