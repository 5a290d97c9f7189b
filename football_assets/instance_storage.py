"""The Dagster instance's SQLite event log, with its database engines kept open (``dagster.yaml``).

Dagster's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine and opens and closes a connection
for every write. Closing the last connection checkpoints the WAL into the database file, and a new
engine starts with an empty statement cache. A batched ingest run writes about ten events a clip
(materializations, check results, planned events). Profiled on the 2-core machine, each event took
36 ms. About 60% of that was the engine, the statement compilation and the checkpoint at each close.
With this class an event takes 15 ms; 64 demo clips through the CLI took 33.5 s instead of 43.0 s
(bench/RESULTS.md, "Ingest profile").

The files, schema and migrations are Dagster's own. An instance can switch between this class and
Dagster's in either direction. Three differences:

- one engine per database file: the index shard and the newest run shards (``MAX_RUN_SHARDS``; an older
  one is disposed when a new one comes in);
- after each use of a run shard, a passive WAL checkpoint. The UI follows a live run by watching that
  shard's ``.db`` file for changes, and writes that stay in the WAL would not show;
- ``PRAGMA synchronous=NORMAL``. In WAL mode this cannot corrupt the database. A power cut may lose
  the last transactions; a crashed process loses nothing.

For a shared deployment use PostgreSQL (``deploy/dagster-postgres.yaml``), which pools its own connections.

Private Dagster API: Dagster has no public way to tune its SQLite event log (``dagster`` exports no storage
class). The question for upstream (dagster-io/dagster): "Could ``SqliteEventLogStorage`` keep one engine per
shard between writes, or offer a public hook for creating a shard's engine, so an instance can tune SQLite
without subclassing ``dagster._core``?" Until there is an answer, this class relies on the private names
imported below and on ``_connect``, ``_initdb``, ``_initialized_dbs``, ``_db_lock`` and
``conn_string_for_shard``; dagster is pinned to 1.13.x in pyproject.toml, and
``tests/test_instance_storage.py::test_the_private_dagster_api_it_relies_on`` fails when any of them changes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator

from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

MAX_RUN_SHARDS = 8  # run databases kept open: a process writes one run at a time, the UI reads a few


def _tune(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that reuses one engine per database file (see the module docstring).

    Config: ``dagster_home``, the instance's home directory; the databases live where Dagster's default
    SQLite storage keeps them, ``<dagster_home>/history/runs``.
    """

    def __init__(self, dagster_home: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._engines_lock = threading.Lock()
        super().__init__(os.path.join(dagster_home, "history", "runs"), inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"dagster_home": Field(StringSource, description="The instance's home: use {env: DAGSTER_HOME}.")}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            if os.getpid() != self._engines_pid:  # a forked child must not share its parent's connections
                for engine in self._engines.values():
                    engine.dispose(close=False)
                self._engines.clear()
                self._engines_pid = os.getpid()
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard), pool_size=1, max_overflow=4,
                                       connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                event.listen(engine, "connect", _tune)
                self._engines[shard] = engine
                runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
                for old in runs[:-MAX_RUN_SHARDS]:
                    self._engines.pop(old).dispose()
            else:
                self._engines.move_to_end(shard)
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def has_table(self, table_name: str) -> bool:
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._dispose_engines()  # no open handle on the run files it deletes
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
