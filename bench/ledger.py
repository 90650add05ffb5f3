"""Loans and dashboard: HTTP through the gateway against the bare nameko RPC, and dashboard scaling.

Starts every service as its own process on a throwaway database and vhost,
with the gateway on a free loopback port. Part 1 measures requests/s and
latency of logging a repayment and of reading the dashboard, at 10 and 50
concurrent clients, once through HTTP and once by calling the nameko RPC
method directly, in the same run. Part 2 times the dashboard for users with
1, 20 and 200 loans, then appends 10,000 repayments of other users to the
event store, lets the ledger apply them, and times the same dashboards again.
Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from bench.common import markdown_table, throwaway_environment
from loansyncro.config import Settings, load_settings
from loansyncro.db import make_engine
from loansyncro.devserver import ServiceGroup
from loansyncro.eventstore import EventStore, NewEvent

LOAN = {
    "name": "Bench loan",
    "loan_type": "personal",
    "currency": "EUR",
    # Large enough that thousands of 1.00 repayments never reach the payoff amount.
    "principal": "900000.00",
    "annual_rate": "5",
    "installments": 60,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class User:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.email = f"bench+{uuid.uuid4().hex[:12]}@example.com"
        self.password = "bench-" + uuid.uuid4().hex
        self.post("/api/v1/accounts", {"email": self.email, "password": self.password, "time_zone": "UTC"})
        self.sign_in()

    def sign_in(self) -> None:
        """Get a fresh access token; a long phase of the benchmark can outlive one."""
        self.session.headers.pop("Authorization", None)
        tokens = self.post("/api/v1/sessions", {"email": self.email, "password": self.password})
        self.session.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        self.user_id = str(tokens["user_id"])

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.session.post(self.base_url + path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self.base_url + path, params=params, timeout=60)
        if response.status_code >= 400:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def create_loans(self, count: int, start: dt.date) -> list[str]:
        return [self.post("/api/v1/loans", {**LOAN, "start_date": start.isoformat()})["id"] for _ in range(count)]


def run_clients(clients: int, seconds: float, make_request: Callable[[int], Callable[[], None]]) -> tuple[float, float, float]:
    """Run `clients` threads issuing requests for `seconds`; return (requests/s, p50 ms, p99 ms)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def work(index: int) -> None:
        request = make_request(index)
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            started = time.perf_counter()
            request()
            latencies[index].append(time.perf_counter() - started)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = sorted(value for per_client in latencies for value in per_client)
    p99 = flat[min(len(flat) - 1, int(len(flat) * 0.99))]
    return len(flat) / elapsed, statistics.median(flat) * 1000, p99 * 1000


def wait_for_ledger(settings: Settings, timeout: float) -> None:
    """Wait until the ledger has applied every stream of the event store."""
    engine = make_engine(settings, pool_size=1)
    query = sa.text(
        "SELECT count(*) FROM (SELECT stream_id, max(version) AS version FROM eventstore.events "
        "WHERE stream_type IN ('loan', 'repayments') GROUP BY stream_id) stored "
        "LEFT JOIN ledger.consumer_streams applied ON applied.consumer = 'ledger' AND applied.stream_id = stored.stream_id "
        "WHERE applied.version IS NULL OR applied.version < stored.version"
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(query).scalar_one() == 0:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"the ledger did not catch up within {timeout} seconds")
    finally:
        engine.dispose()


def throughput(base_url: str, settings: Settings, seconds: float, start: dt.date) -> list[list[str]]:
    rpc_config = {"AMQP_URI": settings.amqp_uri, "rpc_exchange": "loansyncro-rpc", "serializer": "json"}
    today = dt.date.today().isoformat()
    rows = []
    for clients in (10, 50):
        users = [User(base_url) for _ in range(clients)]
        loans = [user.create_loans(1, start)[0] for user in users]

        def http_log(index: int) -> Callable[[], None]:
            return lambda: users[index].post(f"/api/v1/loans/{loans[index]}/repayments", {"amount": "1.00", "paid_on": today})

        def http_dashboard(index: int) -> Callable[[], None]:
            return lambda: users[index].get("/api/v1/dashboard")

        def rpc_call(method: str, make_args: Callable[[int], tuple[Any, ...]]) -> Callable[[int], Callable[[], None]]:
            def make(index: int) -> Callable[[], None]:
                proxy = ClusterRpcProxy(rpc_config).start()
                service, name = method.split(".")

                def request() -> None:
                    getattr(getattr(proxy, service), name)(*make_args(index))

                return request

            return make

        cases = [
            ("log repayment", "HTTP", http_log),
            ("log repayment", "nameko RPC", rpc_call(
                "repayments.log_repayment",
                lambda i: (users[i].user_id, loans[i], {"amount": "1.00", "paid_on": today}, str(uuid.uuid4()), "UTC"),
            )),
            ("dashboard", "HTTP", http_dashboard),
            ("dashboard", "nameko RPC", rpc_call("ledger.dashboard", lambda i: (users[i].user_id, {}, "UTC"))),
        ]
        results: dict[tuple[str, str], tuple[float, float, float]] = {}
        for operation, path, make in cases:
            results[(operation, path)] = run_clients(clients, seconds, make)
            progress(f"{operation} over {path} at {clients} clients: {results[(operation, path)][0]:.0f} requests/s")
            if operation == "log repayment":
                wait_for_ledger(settings, timeout=300)
        for operation in ("log repayment", "dashboard"):
            http = results[(operation, "HTTP")]
            bare = results[(operation, "nameko RPC")]
            rows.append(
                [
                    operation,
                    str(clients),
                    f"{http[0]:.0f}",
                    f"{http[1]:.1f} / {http[2]:.1f}",
                    f"{bare[0]:.0f}",
                    f"{bare[1]:.1f} / {bare[2]:.1f}",
                    f"{100 * http[0] / bare[0]:.0f} %",
                ]
            )
    return rows


def add_store_load(settings: Settings, repayments: int, start: dt.date) -> None:
    """Append `repayments` RepaymentLogged events for other users' loans straight to the event store."""
    engine = make_engine(settings, pool_size=2)
    store = EventStore(engine)
    per_loan = 20
    try:
        for loan_index in range(repayments // per_loan):
            owner, loan_id = uuid.uuid4(), uuid.uuid4()
            created = {
                "loan_id": loan_id, "owner_id": owner, "name": "Filler", "loan_type": "personal", "currency": "EUR",
                "principal": Decimal("900000.00"), "annual_rate": Decimal("5"), "day_count": "30/360",
                "method": "annuity", "frequency": "monthly", "start_date": start, "installments": 60,
                "rounding": "ROUND_HALF_UP",
            }
            store.append("loan", f"loan-{loan_id}", 0, [NewEvent("LoanCreated", created)])
            events = [
                NewEvent("RepaymentLogged", {
                    "repayment_id": uuid.uuid4(), "loan_id": loan_id, "owner_id": owner, "amount": Decimal("1.00"),
                    "currency": "EUR", "paid_on": start + dt.timedelta(days=31 + number), "method": "other",
                })
                for number in range(per_loan)
            ]
            store.append("repayments", f"repayments-{loan_id}", 0, events)
    finally:
        engine.dispose()


def dashboard_latency(user: User, requests_count: int) -> tuple[float, float]:
    user.sign_in()
    user.get("/api/v1/dashboard")  # the first read of a day computes every loan; later reads use the projection
    times = []
    for _ in range(requests_count):
        started = time.perf_counter()
        user.get("/api/v1/dashboard")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def progress(message: str) -> None:
    print(f"bench.ledger: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each throughput measurement (default: %(default)s)")
    parser.add_argument("--store-repayments", type=int, default=10_000, help="repayments appended for part 2 (default: %(default)s)")
    args = parser.parse_args(argv)

    start = dt.date.today() - dt.timedelta(days=400)
    with throwaway_environment("loansyncro_bench_ledger") as settings, tempfile.TemporaryDirectory() as log_dir:
        port = free_port()
        env = {"DATABASE_URL": settings.database_url, "AMQP_URI": settings.amqp_uri, "GATEWAY_PORT": str(port), "LOG_LEVEL": "WARNING"}
        os.environ.update(env)
        group = ServiceGroup(load_settings(), env=env, log_dir=Path(log_dir))
        try:
            group.start()
            group.wait_until_ready(timeout=120)
            base_url = group.url
            progress("measuring throughput at 10 and 50 clients")
            rows = throughput(base_url, settings, args.seconds, start)
            progress("creating users with 1, 20 and 200 loans")

            users = {count: User(base_url) for count in (1, 20, 200)}
            for count, user in users.items():
                user.create_loans(count, start)
            wait_for_ledger(settings, timeout=300)
            before = {count: dashboard_latency(user, 30) for count, user in users.items()}
            progress(f"appending {args.store_repayments} repayments of other users")
            add_store_load(settings, args.store_repayments, start)
            progress("waiting for the ledger to apply them")
            applying = time.perf_counter()
            wait_for_ledger(settings, timeout=900)
            progress(f"the ledger applied them in {time.perf_counter() - applying:.0f} s")
            after = {count: dashboard_latency(user, 30) for count, user in users.items()}
        finally:
            group.stop()

    scaling = [
        [str(count), f"{before[count][0]:.1f} / {before[count][1]:.1f}", f"{after[count][0]:.1f} / {after[count][1]:.1f}"]
        for count in users
    ]
    return "\n".join(
        [
            "## Loans and dashboard",
            "",
            f"Measured by `python -m bench.ledger` on {os.cpu_count()} CPU cores shared by the client, PostgreSQL,",
            "RabbitMQ and every service process (one process each), on loopback. Each cell ran",
            f"{args.seconds:.0f} seconds; every client is its own user with its own loan. HTTP goes through",
            "the gateway (token check, Idempotency-Key record, time-zone lookup, RPC); nameko RPC",
            "calls the same service method directly from a standalone proxy.",
            "",
            markdown_table(
                ["operation", "clients", "HTTP req/s", "HTTP p50 / p99 ms", "RPC req/s", "RPC p50 / p99 ms", "HTTP / RPC"],
                rows,
            ),
            "",
            f"Dashboard latency (p50 / p99 ms over 30 sequential reads) before and after appending {args.store_repayments}",
            "repayments of other users to the event store:",
            "",
            markdown_table(["loans of the user", "before", "after"], scaling),
            "",
        ]
    )


if __name__ == "__main__":
    print(main())
