"""The pages operators open first, loaded in a real browser: the render server's `GET /` and the
Webots servers' `/monitor`.

Each server is started on port 0 with the binary `make test` builds (GLTF_CLOUD_BIN); headless
Chromium (Debian's `chromium`) loads the page and is driven over the DevTools protocol with
websocket-client. Each page must load with no console error or uncaught exception, draw its chart
from the server's JSON, and redraw it without a reload (the count in `document.body.dataset.updates`
grows, and the chart's paths follow the server's data). The render server's page also shows the
latest image of each type, which must load and be replaced after newer renders. A screenshot of
each page (the whole page) is written to out/pages/.
"""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import websocket
from render_server_process import ListeningProcess

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("GLTF_CLOUD_BIN", REPO / "target" / "debug" / "gltf-cloud"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO / "out" / "pages"
# The flags that keep a headless Chromium off the network and quiet in a container.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1000,1100",
]

pytestmark = [
    pytest.mark.skipif(not BINARY.exists(), reason=f"{BINARY} not built: `make test` builds it"),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: `make deps` installs it"),
]


class Server(ListeningProcess):
    """One `gltf-cloud <role>` process on a free loopback port, its log drained on a thread."""

    def __init__(self, *args: str):
        super().__init__(BINARY, *args, "--host", "127.0.0.1", "--port", "0")


class Browser:
    """Headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, profile: Path):
        self.process = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"]
            + ["about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Chromium writes the port it chose (first line) into the profile once it listens.
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.exists() and active.read_text().strip()):
            assert self.process.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(active.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        (page,) = [t for t in targets if t["type"] == "page"]
        # No Origin header: Chromium refuses DevTools websockets from origins it was not told of.
        self.socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, f"{expression}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 15):
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def open(self, url: str):
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", f"{url} to load")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(json.dumps(params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"] + " " + params["entry"].get("url", ""))
        return found

    def screenshot(self, name: str) -> Path:
        import base64

        # The whole page, below the window too (the render server's images are at its end).
        height = self.evaluate("document.documentElement.scrollHeight")
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": 1000, "height": min(height, 3000), "scale": 1},
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self):
        self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def browser(tmp_path):
    opened = Browser(tmp_path / "chromium")
    yield opened
    opened.close()


UPDATES = "Number(document.body.dataset.updates || 0)"


def assert_live(browser: Browser, url: str, graph: str, path_count: str):
    """The page loads cleanly, and its chart is redrawn from the JSON at least twice more."""
    browser.open(url)
    browser.wait_for(f"{UPDATES} >= 1", "the first redraw from the JSON")
    first = browser.evaluate(UPDATES)
    browser.wait_for(f"{UPDATES} >= {first + 2}", "two more redraws without a reload")
    paths = browser.evaluate(f"document.querySelectorAll('#{graph} path.series').length")
    assert paths >= path_count, f"{paths} series drawn, expected {path_count}"
    assert browser.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert not browser.errors(), browser.errors()


PREVIEW_TYPES = ("color", "depth", "label")


def previews_shown(browser: Browser) -> dict:
    """Each latest image as the page shows it: loaded or not, its natural size, the sequence number
    it was fetched for, and a digest of its pixels (read back through a canvas)."""
    return browser.evaluate(
        """Object.fromEntries(%s.map((type) => {
          const image = document.getElementById("preview-" + type);
          const loaded = !image.hidden && image.complete && image.naturalWidth > 0;
          let digest = 0;
          if (loaded) {
            const canvas = document.createElement("canvas");
            canvas.width = image.naturalWidth;
            canvas.height = image.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(image, 0, 0);
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 0; i < pixels.length; i++) digest = (digest * 31 + pixels[i]) >>> 0;
          }
          const caption = document.getElementById("preview-" + type + "-caption").textContent;
          return [type, { loaded, width: image.naturalWidth, height: image.naturalHeight,
                          sequence: image.dataset.sequence || null, digest, caption }];
        }))"""
        % json.dumps(list(PREVIEW_TYPES))
    )


def render_tabletops(server: Server, out: Path, width: int, height: int):
    """One image of each type of the example scene (pydrake's export, one file per type)."""
    scenes = [str(REPO / "examples" / kind / "tabletop.gltf") for kind in PREVIEW_TYPES]
    subprocess.run(
        [str(BINARY), "render-client", "--server-base-url", server.url, "--out", str(out)]
        + ["--width", str(width), "--height", str(height), *scenes],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_render_server_status_page_charts_recent_renders(browser, tmp_path):
    server = Server("render-server", "--render-workers", "2")
    try:
        browser.open(server.url + "/")
        browser.wait_for(f"{UPDATES} >= 1", "the first redraw from status.json")
        chart = "document.querySelectorAll('#render-times path.series')"
        assert browser.evaluate(f"{chart}.length") == 0, "a chart before any render"
        text = browser.evaluate("document.body.innerText")
        for shown in ("llvmpipe", "Vulkan", "waiting for a worker", "workers rendering", "of 2"):
            assert shown in text, f"{shown!r} not on the page:\n{text}"
        assert text.count("no image yet") == 3, text
        # Renders while the page is open (render-client's conformance check of the server, with
        # its built-in scenes): the chart follows without a reload.
        subprocess.run(
            [str(BINARY), "render-client", "--server-base-url", server.url, "--check"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        browser.wait_for(f"{chart}.length === 1", "the render times chart")
        points = browser.evaluate(f"{chart}[0].getAttribute('d').split('L').length")
        status = json.load(urllib.request.urlopen(server.url + "/status.json", timeout=10))
        assert points == len(status["recent"]) >= 3, (points, status)
        assert browser.evaluate("document.getElementById('color').textContent") == str(
            status["renders"]["color"]
        )

        # The latest image of each type follows without a reload, fetched once per new image.
        render_tabletops(server, tmp_path / "first", 320, 240)
        every_loaded = " && ".join(
            f"(() => {{ const i = document.getElementById('preview-{t}'); "
            "return !i.hidden && i.complete && i.naturalWidth > 0; })()"
            for t in PREVIEW_TYPES
        )
        latest = json.load(urllib.request.urlopen(server.url + "/status.json", timeout=10))
        newest = ",".join(f"'{latest['previews'][t]['sequence']}'" for t in PREVIEW_TYPES)
        browser.wait_for(
            f"[{newest}].join() === {json.dumps(list(PREVIEW_TYPES))}"
            ".map((t) => document.getElementById('preview-' + t).dataset.sequence).join()"
            f" && {every_loaded}",
            "the three latest images",
        )
        first = previews_shown(browser)
        for kind, shown in first.items():
            assert (shown["width"], shown["height"]) == (256, 192), (kind, shown)
            assert "320×240 from Drake" in shown["caption"], (kind, shown)
        render_tabletops(server, tmp_path / "second", 300, 100)
        # 300×100 keeps its aspect at 256 px wide.
        resized = " && ".join(
            f"document.getElementById('preview-{t}').naturalHeight === 85" for t in PREVIEW_TYPES
        )
        browser.wait_for(f"{every_loaded} && {resized}", "the newer images")
        second = previews_shown(browser)
        for kind in PREVIEW_TYPES:
            assert second[kind]["width"] == 256, (kind, second[kind])
            assert second[kind]["sequence"] != first[kind]["sequence"], kind
            assert second[kind]["digest"] != first[kind]["digest"], kind
            assert "300×100 from Drake" in second[kind]["caption"], (kind, second[kind])
        # Depth's colours span the measured range, which its caption gives in metres.
        assert re.search(r", \d+\.\d\d–\d+\.\d\d m$", second["depth"]["caption"]), second["depth"]

        assert_live(browser, server.url + "/", "render-times", 1)
        browser.wait_for(every_loaded, "the images after a reload")
        browser.screenshot("render-server")
    finally:
        server.stop()


@pytest.fixture
def simulation_server(tmp_path):
    server = Server("simulation-server", "--instances-dir", str(tmp_path / "instances"))
    yield server
    server.stop()


def test_simulation_server_monitor_graph_moves(browser, simulation_server):
    # The sampler adds a point every second; the five series are drawn from /monitor.json.
    assert_live(browser, simulation_server.url + "/monitor", "load-graph", 5)
    graph = "document.querySelector('#load-graph path.series').getAttribute('d')"
    before = browser.evaluate(graph)
    browser.wait_for(f"{graph} !== {json.dumps(before)}", "the load graph to move", timeout=10)
    # A few more seconds of history, so the screenshot shows lines rather than dots.
    time.sleep(5)
    browser.screenshot("simulation-server-monitor")


def test_session_server_monitor_graphs_the_polled_loads(browser, simulation_server, tmp_path):
    config = tmp_path / "session.json"
    address = simulation_server.url.removeprefix("http://")
    config.write_text(
        json.dumps({"simulationServers": [address], "ssl": False, "loadPollPeriodSeconds": 1})
    )
    session = Server("session-server", "--config", str(config))
    try:
        # One line per simulation server and one for the average, from the browser's history.
        assert_live(browser, session.url + "/monitor", "load-graph", 2)
        rows = browser.evaluate("document.querySelectorAll('#servers tr').length")
        assert rows == 2, rows
        assert address in browser.evaluate("document.body.innerText")
        time.sleep(5)  # a few more polls, so the screenshot shows lines
        browser.screenshot("session-server-monitor")
    finally:
        session.stop()
