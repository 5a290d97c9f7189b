"""A REAL Label Studio server for the session (and a headless Chromium driven over DevTools to look at it): started from ``.venv-label-studio`` (``make test`` installs it
via label_studio/setup_venv.sh) on a free 127.0.0.1 port with a temp data dir; admin user and API token set
at first boot. ``restart()`` kills and restarts it on the same state (for the interruption test)."""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import websocket

ROOT = Path(__file__).resolve().parents[1]
LS_BIN = ROOT / ".venv-label-studio" / "bin" / "label-studio"
START_TIMEOUT_S = 240  # first boot runs all migrations: ~70 s on 2 cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabelStudioServer:
    base: Path  # temp dir: ls/ server state, data/ the football data root (document root for local files)
    port: int
    username: str = "admin@example.com"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    token: str = field(default_factory=lambda: secrets.token_hex(20))
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_root(self) -> Path:
        return self.base / "data"

    def env(self) -> dict:
        ls_dir = self.base / "ls"
        return {**os.environ, "LABEL_STUDIO_USERNAME": self.username, "LABEL_STUDIO_PASSWORD": self.password,
                "LABEL_STUDIO_USER_TOKEN": self.token, "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
                "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
                "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(self.data_root),
                "LABEL_STUDIO_BASE_DATA_DIR": str(ls_dir), "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
                "COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false", "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"}

    def start(self) -> None:
        (self.base / "ls").mkdir(parents=True, exist_ok=True)
        self.data_root.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "server.log", "ab")
        self.proc = subprocess.Popen(
            [str(LS_BIN), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(self.port),
             "--host", self.url, "--data-dir", str(self.base / "ls")],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.base, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Label Studio exited with {self.proc.returncode}; see {self.base / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"Label Studio not healthy after {START_TIMEOUT_S}s; see {self.base / 'server.log'}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)  # its own session: the server and its workers only
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc = None

    def kill(self) -> None:
        """Abrupt death (SIGKILL), as in a crash mid-sync."""
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def label_studio_server(tmp_path_factory) -> LabelStudioServer:
    if not LS_BIN.exists():
        subprocess.run(["bash", str(ROOT / "label_studio" / "setup_venv.sh")], check=True)
    server = LabelStudioServer(tmp_path_factory.mktemp("label_studio"), free_port())
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------- browser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
                  "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]


class Browser:
    def __init__(self, profile: Path, width: int = 1400, height: int = 1000, timeout: float = 60.0):
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "DevToolsActivePort").unlink(missing_ok=True)  # a stale one names a dead port
        self.proc = subprocess.Popen(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                      f"--window-size={width},{height}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self._connect(profile, width, height, timeout)
        except BaseException:
            self.close()
            raise

    def _connect(self, profile: Path, width: int, height: int, timeout: float) -> None:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        pages = []
        while not pages and time.monotonic() < deadline:
            try:
                pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page"]
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        if not pages:
            raise RuntimeError("chromium opened no page to drive")
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout)
        self._ids = itertools.count(1)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def send(self, method: str, **params) -> dict:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:  # events arrive in between; bounded by the socket timeout
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression: str):
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return res.get("result", {}).get("value")

    def set_cookie(self, name: str, value: str, url: str) -> None:
        self.send("Network.setCookie", name=name, value=value, url=url)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 90.0, interval: float = 0.5) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.eval(expression):
                return True
            time.sleep(interval)
        return False

    def screenshot(self, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return dest

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):  # its own process group: chromium and its renderers
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=10)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


def label_studio_session(url: str, email: str, password: str) -> str:
    """Log in through Label Studio's login form; return the ``sessionid`` cookie value."""
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http:
        http.get("/user/login/")
        csrf = http.cookies.get("csrftoken")
        r = http.post("/user/login/", data={"email": email, "password": password, "csrfmiddlewaretoken": csrf},
                      headers={"Referer": f"{url}/user/login/"})
        session = http.cookies.get("sessionid")
        if r.status_code not in (302, 303) or not session:
            raise RuntimeError(f"Label Studio login as {email} failed (HTTP {r.status_code})")
        return session


@pytest.fixture(scope="session")
def label_studio_data(label_studio_server):
    """Four real demo clips (ffmpeg) under the server's document root: ``(server, layout, clip facts)``."""
    from football_assets.core.ingest import catalog, sources
    from football_assets.core.layout import DataLayout

    layout = DataLayout(label_studio_server.data_root)
    srcs = sources.demo_sources(4, seed=3)
    catalog.register(layout, srcs)
    for s in srcs:
        catalog.ingest_raw(layout, s.key)
        catalog.make_clip(layout, s.key)
    return label_studio_server, layout, catalog.list_clips(layout)
