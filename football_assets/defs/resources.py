"""The resources every definition gets, configured from the environment when the code location loads."""

import dagster as dg

from resources import DataDirResource, environment
from resources.gpu import GpuResource
from resources.label_studio import LabelStudioResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={
        "storage": DataDirResource(),
        "gpu": GpuResource(profile=environment.gpu_profile(), launcher=environment.train_launcher(),
                           gpus=environment.gpus(), model=environment.model(), model_path=environment.model_path()),
        # unset -> no server: annotations come from <data>/labels/ export files
        "label_studio": LabelStudioResource(url=dg.EnvVar("LABEL_STUDIO_URL"), api_key=dg.EnvVar("LABEL_STUDIO_API_KEY"),
                                            project_title=environment.label_studio_project())
        if environment.label_studio()[0] else LabelStudioResource(),
    })
