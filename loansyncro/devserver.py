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

from kombu import Connection

from loansyncro.config import Settings

log = logging.getLogger(__name__)

ROOT: Final = Path(__file__).resolve().parent.parent
NAMEKO_CONFIG: Final = ROOT / "deploy" / "nameko.yaml"
# Start order: the gateway last, so its first requests find the others listening.
SERVICE_ORDER: Final = ("accounts", "loans", "repayments", "ledger", "notifier", "gateway")


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this child when its parent dies.

    A supervisor killed with SIGKILL (or a test run cut short) would otherwise
    leave every service running. Elsewhere this is a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            output.close()
        else:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=env, start_new_session=True, preexec_fn=_die_with_parent
            )
        log.info("process started", extra={"process_name": name, "pid": self.processes[name].pid})

    def start(self) -> None:
        python = sys.executable
        self._spawn("relay", [python, "-m", "loansyncro.outbox"])
        for name in self.services:
            nameko = [python, "-m", "nameko", "run", "--config", str(NAMEKO_CONFIG), f"services.{name}.service"]
            self._spawn(name, nameko)

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        """Wait until every service consumes its RPC queue and the gateway listens.

        Checks on the way that no process died, so a crash is reported at once.
        """
        deadline = time.monotonic() + timeout
        waiting_for = [name for name in self.services if name != "gateway"]
        while time.monotonic() < deadline:
            self.check_alive()
            waiting_for = [name for name in waiting_for if not self._rpc_consumed(name)]
            gateway_ready = "gateway" not in self.services or self._gateway_listening()
            if not waiting_for and gateway_ready:
                return
            time.sleep(0.2)
        pending = waiting_for + ([] if self._gateway_listening() else ["gateway"])
        raise TimeoutError(f"not ready within {timeout:.0f} s: {', '.join(pending)}")

    def check_free(self) -> str | None:
        """Return why this system cannot start next to what already runs, or None.

        eventlet listens with SO_REUSEPORT, so a second gateway on a busy port
        would share it silently. Services on a vhost that another system uses
        would handle that system's RPCs with this one's database.
        """
        problems = []
        if "gateway" in self.services and self._gateway_listening():
            problems.append(f"port {self.settings.gateway_port} on {self.settings.gateway_host} is already in use")
        busy = [name for name in self.services if name != "gateway" and self._rpc_consumed(name)]
        if busy:
            problems.append(f"another LoanSyncro system already consumes this RabbitMQ vhost ({', '.join(busy)} are running)")
        if not problems:
            return None
        return (
            "; ".join(problems) + ". Stop the other system, or give this one a port, a vhost and a database of its own: "
            "'rabbitmqctl add_vhost mine && rabbitmqctl set_permissions -p mine guest \".*\" \".*\" \".*\"', then "
            "GATEWAY_PORT=8001 AMQP_URI=amqp://guest:guest@127.0.0.1:5672/mine "
            "DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:5432/loansyncro_mine make run"
        )

    def _rpc_consumed(self, service: str) -> bool:
        """Return whether nameko's RPC queue of `service` exists and has a consumer."""
        try:
            with Connection(self.settings.amqp_uri, connect_timeout=2) as connection:
                declared = connection.default_channel.queue_declare(queue=f"rpc-{service}", passive=True)
        except Exception:  # the queue does not exist yet: passive declare closes the channel
            return False
        return bool(declared.consumer_count)

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
