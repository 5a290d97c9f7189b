"""Label Studio connection for the annotation assets and sensor (URL and API key from the environment)."""

from __future__ import annotations

from dagster import ConfigurableResource

from football_assets.core.label_studio_client import DEFAULT_TITLE, LabelStudioClient


class LabelStudioResource(ConfigurableResource):
    """``url`` / ``api_key`` come from ``EnvVar("LABEL_STUDIO_URL")`` / ``EnvVar("LABEL_STUDIO_API_KEY")`` in
    ``definitions.py``; left empty, the pipeline runs without a server (embedded export-file path).
    The key is only handed to the client, never logged or put in metadata."""

    url: str = ""
    api_key: str = ""
    project_title: str = DEFAULT_TITLE

    @property
    def configured(self) -> bool:
        return bool(self.url and self.api_key)

    def client(self) -> LabelStudioClient:
        return LabelStudioClient(self.url, self.api_key, self.project_title)
