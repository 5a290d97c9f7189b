"""The ``football-events`` commands: ``demo`` (the whole graph on the manifest's clips) and ``analyze``."""

from football_assets.cli.main import main

__all__ = ["main"]
