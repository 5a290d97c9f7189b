"""Configuration only: Dagster ConfigurableResources (``storage``, ``label_studio``, ``gpu``) and
``environment``, the one module that reads the process environment. Nothing here imports ``football_assets``;
the definitions in ``football_assets/defs/`` turn these settings into layouts, clients and commands.

``DataDirResource`` is imported lazily, so that ``resources.environment`` stays importable without Dagster
(the trainers run in pods and on GPU machines where only the core is installed)."""

__all__ = ["DataDirResource"]


def __getattr__(name: str):
    if name == "DataDirResource":
        from .storage import DataDirResource

        return DataDirResource
    raise AttributeError(f"module 'resources' has no attribute {name!r}")
