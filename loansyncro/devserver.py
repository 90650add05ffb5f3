"""Start every service as its own process, plus the relay, and stop them together.

Used by `make run` (through `loansyncro run`) and by the end-to-end tests.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from loansyncro.config import Settings

log = logging.getLogger(__name__)

ROOT: Final = Path(__file__).resolve().parent.parent
NAMEKO_CONFIG: Final = ROOT / "deploy" / "nameko.yaml"
# Start order: the gateway last, so its first requests find the others listening.
SERVICE_ORDER: Final = ("accounts", "loans", "repayments", "ledger", "notifier", "gateway")


def available_services() -> list[str]:
    return [name for name in SERVICE_ORDER if (ROOT / "services" / name / "service.py").exists()]


class ServiceGroup:
    """The relay and the nameko services, each a child process with its own log file or stream."""

    def __init__(
        self,
        settings: Settings,
        *,
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        services: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.env = {**os.environ, **(env or {})}
        self.log_dir = log_dir
        self.services = available_services() if services is None else services
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, command: list[str]) -> None:
        env = {**self.env, "SERVICE_NAME": name, "PYTHONUNBUFFERED": "1"}
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
            output.close()
        else:
            self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        log.info("process started", extra={"process_name": name, "pid": self.processes[name].pid})

    def start(self) -> None:
        python = sys.executable
        self._spawn("relay", [python, "-m", "loansyncro.outbox"])
        for name in self.services:
            nameko = [python, "-m", "nameko", "run", "--config", str(NAMEKO_CONFIG), f"services.{name}.service"]
            self._spawn(name, nameko)

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        """Wait for the gateway's port (if it runs) and check that no process died on the way."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if "gateway" not in self.services or self._gateway_listening():
                return
            time.sleep(0.2)
        raise TimeoutError(f"the gateway did not listen on {self.url} within {timeout:.0f} s")

    def _gateway_listening(self) -> bool:
        try:
            with socket.create_connection((self.settings.gateway_host, self.settings.gateway_port), timeout=0.5):
                return True
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"http://{self.settings.gateway_host}:{self.settings.gateway_port}"

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                where = f"; see {self.log_dir / (name + '.log')}" if self.log_dir else ""
                raise RuntimeError(f"{name} exited with code {code}{where}")

    def stop(self, timeout: float = 15.0) -> None:
        """Send SIGTERM to every process, then SIGKILL to any still running after `timeout`."""
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for name, process in self.processes.items():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("process did not stop in time; killing it", extra={"process_name": name})
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.info("all processes stopped")

    def kill(self, name: str) -> None:
        """SIGKILL one process (tests use this to simulate a crash)."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def restart(self, name: str) -> None:
        if name == "relay":
            self._spawn("relay", [sys.executable, "-m", "loansyncro.outbox"])
        else:
            nameko = [sys.executable, "-m", "nameko", "run", "--config", str(NAMEKO_CONFIG), f"services.{name}.service"]
            self._spawn(name, nameko)
