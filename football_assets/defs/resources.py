"""The resources every definition gets, configured from the environment when the code location loads."""

import os

import dagster as dg

from resources import DataDirResource
from resources.gpu import GpuResource
from resources.label_studio import LabelStudioResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={
        "storage": DataDirResource(),
        "gpu": GpuResource(profile=os.environ.get("FOOTBALL_GPU_PROFILE", "cpu"),
                           launcher=os.environ.get("FOOTBALL_TRAIN_LAUNCHER", "python"),
                           gpus=int(os.environ.get("FOOTBALL_GPUS", "1")),
                           model=os.environ.get("FOOTBALL_MODEL", ""),
                           model_path=os.environ.get("COSMOS_REASON1_PATH", "")),
        # unset -> no server: annotations come from <data>/labels/ export files
        "label_studio": LabelStudioResource(url=dg.EnvVar("LABEL_STUDIO_URL"), api_key=dg.EnvVar("LABEL_STUDIO_API_KEY"))
        if os.environ.get("LABEL_STUDIO_URL") else LabelStudioResource(),
    })
