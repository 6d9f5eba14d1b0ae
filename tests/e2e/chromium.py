"""Debian's headless chromium driven over the Chrome DevTools Protocol, through a pipe
(--remote-debugging-pipe: commands on fd 3, answers on fd 4, each message JSON ending in a NUL) —
no WebDriver, no websocket library, nothing downloaded. `make browser` installs chromium."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# As the machine's own probe starts it: nothing reaches out to the network on its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-default-apps", "--mute-audio", "--remote-debugging-pipe"]


def executable() -> str | None:
    return shutil.which("chromium") or (str(Path("/usr/bin/chromium")) if Path("/usr/bin/chromium").exists() else None)


def _above(fd: int, lowest: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lowest)
    os.close(fd)
    return moved


class Browser:
    """One chromium with a fresh profile; `page()` opens a tab."""

    def __init__(self, binary: str, timeout: float = 30) -> None:
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Above 10, so moving them to 3 and 4 cannot overwrite one with the other.
        to_browser_r, from_browser_w = (_above(fd, 10) for fd in (to_browser_r, from_browser_w))
        # The child's fds 3 and 4 must be the pipe ends: bash moves them there (dash takes no fd above 9),
        # then becomes chromium.
        self.log = Path(self.profile) / "chromium.log"
        wiring = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(["bash", "-c", wiring, binary, *FLAGS, f"--user-data-dir={self.profile}",
                                          "about:blank"], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, pass_fds=(to_browser_r, from_browser_w),
                                         start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.timeout = timeout
        self._ids = iter(range(1, 1_000_000))
        self._lock = threading.Lock()
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._arrived:
                    self._arrived.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._arrived:
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                    self._arrived.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        with self._lock:
            message_id = next(self._ids)
            message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        with self._arrived:
            while message_id not in self._answers:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"chromium exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer to {method} within {self.timeout:.0f} s")
                self._arrived.wait(0.2)
            answer = self._answers.pop(message_id)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return dict(answer.get("result") or {})

    def page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, session)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Runtime.enable")

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Evaluate until the value is truthy; returns it."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{expression!r} stayed {value!r} for {timeout:.0f} s")

    def requested_urls(self) -> list[str]:
        """Every URL this page asked for (Network.requestWillBeSent)."""
        return [e["params"]["request"]["url"] for e in list(self.browser.events)
                if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == self.session]

    def console_errors(self) -> list[str]:
        found = []
        for event in list(self.browser.events):
            if event.get("sessionId") != self.session:
                continue
            if event.get("method") == "Runtime.exceptionThrown":
                found.append(str(event["params"]["exceptionDetails"].get("text")))
            if event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                found.append(" ".join(str(a.get("value", a.get("description"))) for a in event["params"]["args"]))
        return found

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path
