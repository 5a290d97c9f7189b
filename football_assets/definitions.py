"""The code location. Every Dagster object defined in the modules below is collected by type, so a new
asset, check, sensor, schedule or job only needs to live in one of them."""

import os
import types

from dagster import (AssetChecksDefinition, AssetsDefinition, Definitions, EnvVar, JobDefinition, ScheduleDefinition,
                     SensorDefinition)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from football_assets import jobs, schedules
from football_assets.assets import annotation, dataset, evaluation, ingest, training
from football_assets.sensors import clips, label_studio, retrain
from resources import DataDirResource
from resources.label_studio import LabelStudioResource
from resources.gpu import GpuResource

MODULES = [ingest, annotation, dataset, training, evaluation, clips, label_studio, retrain, jobs, schedules]


def collect(modules: list[types.ModuleType]) -> dict[str, list]:
    found: dict[str, dict[int, object]] = {k: {} for k in ("assets", "asset_checks", "sensors", "schedules", "jobs")}
    for module in modules:
        for obj in vars(module).values():
            if isinstance(obj, AssetChecksDefinition):
                found["asset_checks"][id(obj)] = obj
            elif isinstance(obj, AssetsDefinition):
                found["assets"][id(obj)] = obj
            elif isinstance(obj, SensorDefinition):
                found["sensors"][id(obj)] = obj
            elif isinstance(obj, ScheduleDefinition):
                found["schedules"][id(obj)] = obj
            elif isinstance(obj, (JobDefinition, UnresolvedAssetJobDefinition)):
                found["jobs"][id(obj)] = obj
    return {k: list(v.values()) for k, v in found.items()}


RESOURCES = {
    "storage": DataDirResource(),
    "gpu": GpuResource(profile=os.environ.get("FOOTBALL_GPU_PROFILE", "cpu"), launcher=os.environ.get("FOOTBALL_TRAIN_LAUNCHER", "python"), gpus=int(os.environ.get("FOOTBALL_GPUS", "1")), model=os.environ.get("FOOTBALL_MODEL", ""), model_path=os.environ.get("COSMOS_REASON1_PATH", "")),
    # one line per resource; each stage adds its own
    # Label Studio from the environment; unset -> no server, annotations come from <data>/labels/ export files
    "label_studio": LabelStudioResource(url=EnvVar("LABEL_STUDIO_URL"), api_key=EnvVar("LABEL_STUDIO_API_KEY"))
    if os.environ.get("LABEL_STUDIO_URL") else LabelStudioResource(),
}

defs = Definitions(**collect(MODULES), resources=RESOURCES)
