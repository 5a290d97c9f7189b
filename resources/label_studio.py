"""Label Studio connection for the annotation assets and sensor (URL and API key from the environment)."""

from __future__ import annotations

from dagster import ConfigurableResource


class LabelStudioResource(ConfigurableResource):
    """``url`` / ``api_key`` come from ``EnvVar("LABEL_STUDIO_URL")`` / ``EnvVar("LABEL_STUDIO_API_KEY")``
    (``football_assets/defs/resources.py``); left empty, the pipeline runs without a server (embedded
    export-file path). ``project_title`` empty: the client's default. The key is only handed to the client,
    never logged or put in metadata."""

    url: str = ""
    api_key: str = ""
    project_title: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.url and self.api_key)
