"""The ``football-events`` commands (``cli/main.py`` lists them)."""

from football_assets.cli.main import main

__all__ = ["main"]
