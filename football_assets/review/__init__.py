"""The match review page (``football-events review``): a Starlette web app over the data directory."""
