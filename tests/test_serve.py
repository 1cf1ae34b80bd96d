"""The README's `.venv/bin/textual serve -c ".venv/bin/lorasent-tui"` serves the app on localhost.

textual-dev is a test extra, so this runs in CI. It starts the server as the README does, opens
the page's websocket as a browser would, and sees the app's first screen; when the app cannot
start, the failure shows the server's log with the app's error.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, deadline: float, server: subprocess.Popen) -> bytes:
    while True:
        assert server.poll() is None, "textual serve exited early; see serve.log"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


async def _screen_text(url: str, seconds: float) -> str:
    """What the served app draws in its first ``seconds``, as plain text."""
    import asyncio

    import aiohttp

    received, text = b"", ""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            await ws.send_str(json.dumps(["resize", {"width": 120, "height": 40}]))
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            while loop.time() < end and "lorasent-tui" not in text:
                try:
                    message = await asyncio.wait_for(ws.receive(), 1)
                except asyncio.TimeoutError:
                    continue
                if message.type == aiohttp.WSMsgType.BINARY:
                    received += message.data
                    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", received).decode("utf-8", "replace")
                elif message.type != aiohttp.WSMsgType.TEXT:
                    break
    return text


def test_textual_serve_serves_the_app_on_localhost(tmp_path):
    import asyncio

    port = _free_port()
    # The README's command, with this environment's bin folder for .venv/bin. -c runs the app
    # as a command: without it, textual serve runs a Python script with whatever `python` is
    # first on PATH, which lacks lorasent_tui.
    bin_dir = Path(sys.executable).parent
    textual = bin_dir / "textual"
    assert textual.exists(), "textual-dev is missing: install the test extras (bash scripts/setup.sh)"
    command = f"{bin_dir / 'lorasent-tui'} --runs-dir {tmp_path / 'runs'}"
    log_path = tmp_path / "serve.log"
    log = open(log_path, "wb")
    server = subprocess.Popen(
        [str(textual), "serve", "-c", command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        page = _get(f"http://127.0.0.1:{port}/", time.monotonic() + 30, server)
        assert b"<html" in page.lower() and f"ws://127.0.0.1:{port}/ws".encode() in page
        # A browser then opens the websocket, which starts the app and streams its screen.
        text = asyncio.run(asyncio.wait_for(
            _screen_text(f"http://127.0.0.1:{port}/ws?width=120&height=40", 60), 75))
        assert "lorasent-tui" in text, (f"the app did not draw its first screen; screen: {text[-1000:]!r}\n"
                                        f"server log:\n{log_path.read_text(errors='replace')[-3000:]}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the group started above, nothing else
            server.wait(timeout=10)
        try:  # the app the server started for the websocket, if it outlived the server
            os.killpg(server.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        log.close()
