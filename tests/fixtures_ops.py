"""Operations fixtures: a temp Dagster home with our dagster.yaml, the Dagster UI started by `make up`'s
script on a free port (with one demo clip registered), a throwaway PostgreSQL cluster, headless Chromium."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_dagster_home(path: Path, config: Path = ROOT / "dagster.yaml") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, path / "dagster.yaml")
    return path


@contextlib.contextmanager
def instance_at(home: Path):
    """The instance of a Dagster home, opened as Dagster's tools open it: with ``DAGSTER_HOME`` set to it
    (our dagster.yaml reads it)."""
    from dagster import DagsterInstance

    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(home)}), DagsterInstance.from_config(str(home)) as instance:
        yield instance


@pytest.fixture
def ops_home(tmp_path) -> Path:
    """An empty DAGSTER_HOME holding the project's dagster.yaml."""
    return make_dagster_home(tmp_path / "dagster_home")


# ---------------------------------------------------------------- Dagster UI (webserver + daemon via up.sh)

class DagsterUI:
    def __init__(self, port: int, env: dict, home: Path, clip_key: str):
        self.port, self.env, self.home, self.clip_key = port, env, home, clip_key
        self.url = f"http://127.0.0.1:{port}"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            out = json.load(resp)
        assert "errors" not in out, f"GraphQL errors: {out['errors']}"
        return out["data"]


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    """`deploy/up.sh` on a free port with a temp home and data root holding one registered demo
    clip (its partition added, the manifest listing only it, so the clip sensor has nothing to do);
    `down.sh` stops it afterwards."""
    from football_assets.core.ingest import catalog
    from football_assets.core.ingest.sources import demo_sources
    from football_assets.core.layout import DataLayout
    from football_assets.defs.ingest.partitions import clip_partitions

    base = tmp_path_factory.mktemp("ui")
    home = make_dagster_home(base / "dagster_home")
    data = base / "data"
    manifest = base / "sources.yaml"
    manifest.write_text("demo: {clips: 1, seed: 0}\n")
    source = demo_sources(1)[0]
    catalog.register(DataLayout(data), [source])
    with instance_at(home) as instance:
        instance.add_dynamic_partitions(clip_partitions.name, [source.key])

    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PORT": str(port), "FOOTBALL_DATA_DIR": str(data),
           "FOOTBALL_MANIFEST": str(manifest), "FOOTBALL_UP_LABEL_STUDIO": "0", "FOOTBALL_UP_WAIT_S": "180"}
    up = subprocess.run(["bash", str(ROOT / "deploy/up.sh")], env=env, capture_output=True, text=True,
                        timeout=240)
    ui = DagsterUI(port, env, home, source.key)
    try:
        assert up.returncode == 0, f"up.sh failed:\n{up.stdout}\n{up.stderr}"
        yield ui
    finally:
        subprocess.run(["bash", str(ROOT / "deploy/down.sh")], env=env, capture_output=True, timeout=90)


# ---------------------------------------------------------------- headless Chromium

def chromium(url: str, tmp: Path, screenshot: Path | None = None, budget_ms: int = 15000) -> str:
    """Load ``url`` in headless Chromium; return the rendered DOM (and save a screenshot if asked)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is not installed (make system-deps installs it)"
    profile = tmp / f"chromium-profile-{time.monotonic_ns()}"
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
            "--window-size=1600,1000", f"--virtual-time-budget={budget_ms}"]
    if screenshot:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([*args, f"--screenshot={screenshot}", url], capture_output=True, text=True, timeout=120)
        assert screenshot.exists() and screenshot.stat().st_size > 0, f"no screenshot of {url}: {out.stderr[-2000:]}"
    out = subprocess.run([*args, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"chromium failed on {url}: {out.stderr[-2000:]}"
    return out.stdout


# ---------------------------------------------------------------- PostgreSQL (Debian's package)

def _pg_bin() -> Path:
    """The PostgreSQL server binaries; installs Debian's `postgresql` when missing."""
    def find():
        for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (d / "initdb").exists() and (d / "pg_ctl").exists():
                return d
        return None

    found = find()
    if found is None:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, check=True, timeout=300)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "postgresql"], env=env, check=True, timeout=600)
        found = find()
    assert found, "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin after installing"
    return found


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory):
    """A throwaway PostgreSQL cluster on a free 127.0.0.1 port (trust auth), stopped afterwards. As root it
    runs as the `postgres` system user (the server refuses root)."""
    bin_dir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="football-ops-pg-"))  # directly under /tmp: reachable by `postgres`
    data = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
    port = free_port()

    def run(*cmd, timeout=60):
        out = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, f"{cmd[0]} failed: {out.stdout}\n{out.stderr}"
        return out

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "dagster", "--auth=trust", "-E", "UTF8", timeout=120)
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60",
        "-o", f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base}", "start",
        timeout=90)
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dagster", "dagster")
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USER": "dagster",
               "DAGSTER_PG_PASSWORD": "trust-auth-ignores-it", "DAGSTER_PG_DB": "dagster"}
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"],
                       capture_output=True, timeout=90)
        shutil.rmtree(base, ignore_errors=True)
