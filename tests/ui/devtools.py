"""Headless Chromium driven over the DevTools protocol: open a page, wait for its text, click, capture.

Chromium's one-shot `--screenshot` can only guess when a single-page app has its data (virtual time);
here the browser test waits for the words that mean a page has loaded, and can click — a chart in
Dagster metadata sits behind a "[Show Markdown]" button (Markdown over 1,000 characters is
collapsed). One browser serves every page. Only loopback addresses are used; the browser is a child
of the test and is ended by its pid.
"""
from __future__ import annotations

import base64
import itertools
import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect


class DevToolsError(RuntimeError):
    pass


class Browser:
    def __init__(self, chromium: str, flags: tuple[str, ...], port: int, window_size: str = "1600,1000"):
        # Chromium's helper processes may outlive the browser by a moment and still write here
        # while it is removed ("Directory not empty"): a leftover temporary profile is harmless.
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-devtools-", ignore_cleanup_errors=True)
        self.process = subprocess.Popen(
            [chromium, *flags, f"--user-data-dir={self._profile.name}", f"--window-size={window_size}",
             f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self._socket = connect(self._page_socket(port), max_size=None, open_timeout=30)
        self.call("Page.enable")

    def _page_socket(self, port: int, timeout_s: float = 60) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                    pages = [t for t in json.load(response) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            time.sleep(0.5)
        raise DevToolsError(f"chromium did not open its DevTools port in {timeout_s}s")

    def call(self, method: str, timeout_s: float = 60, **params) -> dict:
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout_s
        while True:
            reply = json.loads(self._socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if reply.get("id") == message_id:  # everything else is an event we do not need
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            # the document may not exist yet right after a navigation: that is "not yet", not an error
            if self.evaluate(f"(() => {{ try {{ return Boolean({expression}); }} catch (e) {{ return false; }} }})()"):
                return
            time.sleep(0.5)
        raise DevToolsError(f"timed out after {timeout_s}s waiting for: {expression}")

    def set_viewport(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def screenshot(self, target: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        target.write_bytes(base64.b64decode(data))
        return target

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
            for _ in range(10):  # the helpers' last writes: try again briefly before leaving it
                self._profile.cleanup()
                if not Path(self._profile.name).exists():
                    break
                time.sleep(0.2)
