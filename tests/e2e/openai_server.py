"""Starts the real dynamo-serve binary for the OpenAI end-to-end tests and stops it with SIGTERM.

Env: DYNAMO_SERVE_BIN (the binary), DYNAMO_SOURCE_DIR (repo root), DYNAMO_E2E_DEVICE (default cpu).
"""
import os
import signal
import socket
import subprocess
import time

import requests

SOURCE_DIR = os.environ.get("DYNAMO_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("DYNAMO_SERVE_BIN", os.path.join(SOURCE_DIR, "build", "dynamo-serve"))
DEFAULT_MODEL = os.path.join(SOURCE_DIR, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
DEVICE = os.environ.get("DYNAMO_E2E_DEVICE", "cpu")
EXTRA_ARGS = os.environ.get("DYNAMO_E2E_SERVE_ARGS", "").split()  # e.g. "--tokenizer DIR" when debugging


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *extra, device=DEVICE, model=DEFAULT_MODEL, timeout=180):
        if not os.path.exists(BIN):
            raise RuntimeError(f"dynamo-serve binary not found at {BIN} (set DYNAMO_SERVE_BIN)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.model = model
        self.args = [BIN, "serve", "--model", model, "--device", device, "--port", str(self.port),
                     "--served-model-name", "smol", *EXTRA_ARGS, *extra]
        self.log = open(os.path.join("/tmp", f"dynamo-serve-e2e-{self.port}.log"), "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dynamo-serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                self.proc.kill()
                raise RuntimeError(f"dynamo-serve not healthy after {timeout}s:\n{self.output()}")
            time.sleep(0.2)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def metrics(self):
        """Prometheus text parsed into {'name{labels}': value}."""
        out = {}
        for line in requests.get(self.url + "/metrics", timeout=10).text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def metric_sum(self, name):
        m = self.metrics()
        return sum(v for k, v in m.items() if k == name or k.startswith(name + "{"))

    def stop(self, timeout=30):
        """SIGTERM, then the exit code (the server must exit 0 after a graceful shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


def wait_idle(server, timeout=60):
    """True once the server runs no request, holds no KV block and has nothing in flight."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (server.metric_sum("dynamo_serve_num_requests_running") == 0
                and server.metric_sum("dynamo_serve_kv_blocks_used") == 0
                and server.metric_sum("dynamo_serve_engine_requests_in_flight") == 0):
            return True
        time.sleep(0.05)
    return False
