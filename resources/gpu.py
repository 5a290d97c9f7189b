"""Where and how the trainer runs, as plain deployment values (read from the environment by definitions.py).

``profile`` names a hardware profile (``cpu`` | ``a100-80gb``), ``launcher`` the process launcher
(``python`` | ``torchrun`` | ``deepspeed``), ``gpus`` the process count, ``model`` the deployment's model
(``FOOTBALL_MODEL``; empty: chosen from ``model_path``, else tiny) and ``model_path`` a local copy of the
7B weights (``COSMOS_REASON1_PATH``). What the values mean lives in ``football_assets.core.presets``
(profiles, model presets, precedence), ``core.launch`` (the command line) and ``core.preflight`` (the
memory plan); the training asset combines them. This module imports nothing from the project.
"""

from __future__ import annotations

from dagster import ConfigurableResource


class GpuResource(ConfigurableResource):
    """Hardware profile, launcher and model selection of this deployment."""

    profile: str = "cpu"
    launcher: str = "python"
    gpus: int = 1
    model: str = ""
    model_path: str = ""
    master_port: int = 29533
