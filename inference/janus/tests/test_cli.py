"""`python -m twig_janus`: loads a checkpoint folder, serves, stops on SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PKG_ROOT = str(Path(__file__).resolve().parents[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST" if body is not None else "GET", path,
                     body=None if body is None else json.dumps(body))
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_cli_serves_a_checkpoint_folder(checkpoint):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": PKG_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "twig_janus", "--model", checkpoint, "--listen", f"127.0.0.1:{port}",
         "--max-batch", "4", "--max-wait-ms", "5", "--device", "cpu", "--served-model-name", "tiny"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            try:
                status, body = get(port, "/healthz")
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                break
            assert status == 503 and body["error"]["type"] == "overloaded_error"
            time.sleep(0.1)
        assert status == 200
        status, info = get(port, "/v1/info")
        assert status == 200 and info["model"] == "tiny" and info["revision"] == "local"
        assert info["max_batch"] == 4 and info["max_wait_ms"] == 5
        status, body = get(port, "/v1/generate", {"prefix": "A cat.", "n": 4, "seed": 1})
        assert status == 200 and len(body["tokens"]) == 4 and body["model"] == "tiny@local"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "ready" in out


def test_cli_rejects_bad_flags():
    env = {**os.environ, "PYTHONPATH": PKG_ROOT}
    r = subprocess.run([sys.executable, "-m", "twig_janus", "--listen", "nonsense"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "HOST:PORT" in r.stderr
