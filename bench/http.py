"""HTTP gateway: sign-in and an authenticated profile read against a bare nameko endpoint.

Starts every service as its own process on a throwaway database and vhost,
plus `BareService` below (a nameko `@http` endpoint returning a constant) on
another loopback port, in the same run. Client threads send requests to each
for a fixed time (or up to a request count) and the run reports requests/s,
p50 and p99 latency, and each rate as a ratio of the bare endpoint's. Writes the result under the "HTTP" heading of docs/benchmarks.md.

    python -m bench.http --help
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from nameko.web.handlers import http

from services.gateway.base import GatewayBase
from services.gateway.http import Reply, RequestContext, route

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_PAGE = ROOT / "docs" / "benchmarks.md"
PASSWORD = "violet tractor sings at dawn"


class BareService:
    """The baseline: nameko's HTTP entrypoint with no auth, no RPC and no database."""

    name = "bench_bare"

    @http("GET", "/bare")
    def bare(self, request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, '{"status": "ok"}'


class AuthenticatedConstantService(GatewayBase):
    """The gateway's token check and route handling, with one route that returns a constant instead of calling a service."""

    name = "bench_authenticated_constant"

    @route("GET", "/bench/constant", summary="Return a constant after the token check", tag="bench")
    def constant(self, ctx: RequestContext) -> Reply:
        return Reply(200, {"user_id": ctx.user_id})


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class KeepAliveClient:
    """One HTTP/1.1 keep-alive connection that sends the same request over and over.

    The load generator shares the two cores with the servers, so it must cost
    little per request. With the `requests` library it spent about twice the
    bare endpoint's CPU per request (measured with top on this benchmark), so
    it capped that endpoint's rate. Writing prepared bytes and reading one
    response costs a fraction of that.
    """

    def __init__(self, port: int, request: bytes) -> None:
        self.port = port
        self.request = request
        self.sock: socket.socket | None = None
        self.buffer = b""

    def send(self) -> int:
        """Send the request and return the response's status code."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines[1:])}
        if b"content-length" not in headers:
            raise RuntimeError(f"Response without Content-Length, which this client needs to find its end: {lines[0]!r}")
        length = int(headers[b"content-length"])
        while len(self.buffer) < length:
            self._receive()
        self.buffer = self.buffer[length:]
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return int(lines[0].split()[1])

    def _receive(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"Server on 127.0.0.1:{self.port} closed the connection in the middle of a response")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def http_request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def http_client(port: int, request: bytes) -> Callable[[], tuple[Callable[[], int], Callable[[], None]]]:
    """Build a factory that opens one keep-alive client per load thread and returns its (send, close)."""

    def open_client() -> tuple[Callable[[], int], Callable[[], None]]:
        client = KeepAliveClient(port, request)
        return client.send, client.close

    return open_client


def load(
    name: str,
    open_client: Callable[[], tuple[Callable[[], int], Callable[[], None]]],
    count: int,
    concurrency: int,
    time_limit: float,
) -> Result:
    """Send up to `count` requests from `concurrency` threads, stopping at `time_limit` seconds.

    Each thread opens its own client; `send()` returns a status code, and
    codes of 400 or more count as errors.
    """
    latencies: list[float] = []
    errors = 0
    issued = 0
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def worker() -> None:
        send, close = open_client()
        try:
            send_until_done(send)
        finally:
            close()

    def send_until_done(send: Callable[[], int]) -> None:
        nonlocal errors, issued
        while True:
            with lock:
                if issued >= count or time.monotonic() > deadline:
                    return
                issued += 1
            started = time.perf_counter()
            status = send()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status >= 400:
                    errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return Result(name, len(latencies), errors, time.perf_counter() - started, latencies)


def rpc_load(amqp_uri: str, user_id: str, count: int, concurrency: int, time_limit: float) -> Result:
    """Call accounts.get_profile over nameko RPC directly, one standalone proxy per thread."""
    from nameko.standalone.rpc import ClusterRpcProxy

    config = {"AMQP_URI": amqp_uri, "rpc_exchange": "loansyncro-rpc", "serializer": "json"}

    def open_proxy() -> tuple[Callable[[], int], Callable[[], None]]:
        cluster = ClusterRpcProxy(config)
        proxy = cluster.start()

        def send() -> int:
            proxy.accounts.get_profile(user_id)
            return 200

        return send, cluster.stop

    return load("RPC accounts.get_profile, no HTTP", open_proxy, count, concurrency, time_limit)


def run(count: int, sign_in_count: int, concurrency: int, time_limit: float) -> list[Result]:
    from bench.common import throwaway_environment
    from loansyncro.devserver import ServiceGroup

    with throwaway_environment("loansyncro_bench_http") as settings, tempfile.TemporaryDirectory() as log_dir:
        gateway_port, bare_port, constant_port = free_port(), free_port(), free_port()
        env = {
            "DATABASE_URL": settings.database_url,
            "AMQP_URI": settings.amqp_uri,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(gateway_port),
            "LOG_LEVEL": "WARNING",
            # Many sign-ins from one address are the point here, not an attack.
            "SIGN_IN_MAX_FAILURES_PER_ADDRESS": "1000000",
        }
        os.environ.update(env)
        from loansyncro.config import load_settings

        group = ServiceGroup(load_settings(), env=env, log_dir=Path(log_dir), services=["accounts", "gateway"])
        bare_env = {**os.environ, **env, "GATEWAY_PORT": str(bare_port), "SERVICE_NAME": "bench_bare"}
        constant_env = {**bare_env, "GATEWAY_PORT": str(constant_port), "SERVICE_NAME": "bench_authenticated_constant"}
        processes: list[Any] = []
        try:
            group.start()
            processes.append(subprocess_nameko(bare_env, "BareService", Path(log_dir) / "bare.log"))
            processes.append(subprocess_nameko(constant_env, "AuthenticatedConstantService", Path(log_dir) / "constant.log"))
            group.wait_until_ready(timeout=90)
            wait_listening(bare_port)
            wait_listening(constant_port)

            base = f"http://127.0.0.1:{gateway_port}/api/v1"
            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            requests.post(f"{base}/accounts", json={"email": email, "password": PASSWORD}, timeout=30).raise_for_status()
            token = requests.post(f"{base}/sessions", json={"email": email, "password": PASSWORD}, timeout=30).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            user_id = requests.get(f"{base}/me/profile", headers=auth, timeout=30).json()["user_id"]
            bare = http_client(bare_port, http_request("GET", "/bare"))
            health = http_client(gateway_port, http_request("GET", "/healthz"))
            profile = http_client(gateway_port, http_request("GET", "/api/v1/me/profile", auth))
            constant = http_client(constant_port, http_request("GET", "/bench/constant", auth))
            credentials = json.dumps({"email": email, "password": PASSWORD}).encode()
            sign_in = http_client(
                gateway_port, http_request("POST", "/api/v1/sessions", {"Content-Type": "application/json"}, credentials)
            )

            # Warm up connections, pools and caches before measuring.
            load("warm-up", bare, 200, concurrency, time_limit)
            load("warm-up", profile, 200, concurrency, time_limit)
            load("warm-up", constant, 200, concurrency, time_limit)
            return [
                load("bare nameko endpoint", bare, count, concurrency, time_limit),
                load("gateway /healthz, no token, no RPC", health, count, concurrency, time_limit),
                load("gateway token check and route, no RPC", constant, count, concurrency, time_limit),
                rpc_load(settings.amqp_uri, user_id, count, concurrency, time_limit),
                load("authenticated profile read", profile, count, concurrency, time_limit),
                load("sign-in (argon2id)", sign_in, sign_in_count, concurrency, time_limit),
            ]
        finally:
            group.stop()
            for process in processes:
                stop_process(process)


def stop_process(process: Any, timeout: float = 15.0) -> None:
    import subprocess

    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def subprocess_nameko(env: dict[str, str], service_class: str, log_path: Path) -> Any:
    import subprocess

    from loansyncro.devserver import NAMEKO_CONFIG

    with open(log_path, "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(NAMEKO_CONFIG), f"bench.http:{service_class}"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )


def verdict(results: list[Result]) -> str:
    rates = {result.name: result.rate for result in results}
    bare = rates["bare nameko endpoint"]
    if not bare:
        return "The bare endpoint served no requests, so no ratio can be given."
    health, constant = rates["gateway /healthz, no token, no RPC"], rates["gateway token check and route, no RPC"]
    rpc, profile = rates["RPC accounts.get_profile, no HTTP"], rates["authenticated profile read"]
    met = "met" if profile >= bare / 2 else "not met"
    return (
        f"Target, authenticated reads at 50 % or more of the bare rate: {met} ({profile / bare:.0%}). "
        f"A nameko RPC to accounts through RabbitMQ, with no HTTP at all, reaches {rpc / bare:.0%} of the bare rate "
        "on this machine, so no path that makes that call can reach the target here. "
        f"Without any RPC, the gateway's token check and route handling reach {constant / bare:.0%}, "
        f"and its health endpoint, with neither, {health / bare:.0%}. Only a profile read that skips the RPC, "
        "such as one served from a cache in the gateway, could reach the target."
    )


def report(results: list[Result], concurrency: int) -> str:
    from bench.common import markdown_table

    bare_rate = results[0].rate
    rows = [
        [
            result.name,
            str(result.requests),
            str(result.errors),
            f"{result.rate:.0f}",
            f"{result.percentile(0.5) * 1000:.1f}",
            f"{result.percentile(0.99) * 1000:.1f}",
            f"{result.rate / bare_rate:.0%}" if bare_rate else "n/a",
        ]
        for result in results
    ]
    table = markdown_table(["scenario", "requests", "errors", "requests/s", "p50 ms", "p99 ms", "rate vs bare"], rows)
    cpu = os.cpu_count()
    return (
        "## HTTP\n\n"
        f"`python -m bench.http` on {cpu} CPU cores shared by the services, PostgreSQL, RabbitMQ and the\n"
        f"load generator itself ({concurrency} client threads, each with one keep-alive connection that\n"
        "writes a prepared request, on loopback only).\n"
        "The bare endpoint is a nameko `@http` entrypoint returning a constant, started in the same run.\n"
        "The token check row runs the gateway's route handling (GatewayBase, in a process of its own)\n"
        "with one route that returns a constant after verifying the token and its session.\n"
        "The RPC row calls accounts.get_profile directly through nameko standalone proxies, without HTTP.\n"
        "The profile read checks the EdDSA token, whose verified claims are cached until it expires.\n"
        "It checks the session, cached for SESSION_CHECK_CACHE_SECONDS (5 s by default), then makes\n"
        "one RPC to accounts, which serves its cached decrypted user after one query for newer events.\n"
        "Sign-in is bound by argon2id (19 MiB, 2 passes) by design.\n"
        "The client threads write prepared requests on raw sockets: with the requests library the\n"
        "load generator used a whole core and capped the bare endpoint near 1,100 requests/s, so the\n"
        "ratios measured the client rather than the endpoint.\n\n"
        f"{table}\n\n"
        f"{verdict(results)}\n\n"
        f"Measured {time.strftime('%Y-%m-%d')}; numbers vary with the machine's other load.\n"
    )


def write_section(section: str, page: Path = BENCHMARKS_PAGE) -> None:
    """Replace the "## HTTP" section of the page, or append it; other sections stay as they are."""
    text = page.read_text() if page.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## HTTP\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    page.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="maximum requests per scenario before the time limit (default 100000)")
    parser.add_argument("--sign-ins", type=int, default=200, help="sign-in requests (default 200; each costs one argon2id hash)")
    parser.add_argument("--concurrency", type=int, default=10, help="client threads (default 10)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds after which a scenario stops (default 10)")
    parser.add_argument("--no-write", action="store_true", help="print the result only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    results = run(args.requests, args.sign_ins, args.concurrency, args.time_limit)
    section = report(results, args.concurrency)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"written to {BENCHMARKS_PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
