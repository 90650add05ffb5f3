"""The `loansyncro` command: migrate, run everything, relay, inspect dead letters."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from loansyncro.config import ConfigError, load_settings
from loansyncro.infra import InfrastructureError, check_postgres, check_rabbitmq
from loansyncro.logs import configure_logging

log = logging.getLogger("loansyncro")


def _fail(message: str) -> int:
    print(f"loansyncro: {message}", file=sys.stderr)
    return 2


def cmd_check(_args: argparse.Namespace) -> int:
    settings = load_settings()
    check_postgres(settings)
    check_rabbitmq(settings)
    print(f"PostgreSQL and RabbitMQ are reachable ({settings.database_url.rsplit('@', 1)[-1]}).")
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from loansyncro.migrate import migrate

    settings = load_settings()
    print("Applying migrations and declaring RabbitMQ queues ...", flush=True)
    migrate(settings)
    print("Database and broker are up to date.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from loansyncro.devserver import ServiceGroup
    from loansyncro.migrate import migrate

    settings = load_settings()
    check_postgres(settings)
    check_rabbitmq(settings)
    log_dir = Path(args.log_dir) if args.log_dir else None
    group = ServiceGroup(settings, log_dir=log_dir)
    problem = group.check_free()
    if problem:
        return _fail(problem)

    if not args.no_migrate:
        print("Applying migrations ...", flush=True)
        migrate(settings)
    print(f"Starting relay and services: {', '.join(group.services)} ...", flush=True)
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        group.start()
        group.wait_until_ready()
        print(f"\nLoanSyncro is running at {group.url}  (API under {group.url}/api/v1/; Ctrl-C stops it)\n", flush=True)
        while not stopping:
            group.check_alive()
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as error:
        print(f"loansyncro: {error}", file=sys.stderr)
        return 1
    finally:
        print("\nStopping ...", flush=True)
        group.stop()
        print("Stopped.")
    return 0


def cmd_relay(args: argparse.Namespace) -> int:
    from loansyncro.outbox import main as relay_main

    relay_main(["--name", args.name, "--idle", args.idle])
    return 0


def cmd_dead_letters(args: argparse.Namespace) -> int:
    import uuid

    from loansyncro.db import make_engine
    from loansyncro.deadletters import list_parked, request_retry

    engine = make_engine(load_settings(), pool_size=1)
    try:
        if args.action == "list":
            parked = list_parked(engine)
            if not parked:
                print("No parked events.")
            for row in parked:
                retry = " (retry requested)" if row["retry_requested_at"] else ""
                print(
                    f"{row['parked_at']:%Y-%m-%d %H:%M:%S}  {row['consumer']}  {row['event_type']}  "
                    f"{row['event_id']}  {row['stream_id']} v{row['version']}  "
                    f"attempts={row['attempts']}{retry}\n    reason: {row['reason']}"
                )
            return 0
        if not args.event_id:
            return _fail("missing event id: pass the id shown by 'loansyncro dead-letters list'")
        try:
            event_id = uuid.UUID(args.event_id)
        except ValueError:
            return _fail(f"invalid event id {args.event_id!r}: pass the id shown by 'loansyncro dead-letters list'")
        if request_retry(engine, event_id) == 0:
            return _fail(f"no parked event {event_id}: see 'loansyncro dead-letters list'")
        print(f"Retry requested: the consumer retries {event_id} at its next catch-up.")
        return 0
    finally:
        engine.dispose()


def cmd_demo(args: argparse.Namespace) -> int:
    from loansyncro.demo import main as demo_main

    settings = load_settings()
    return demo_main(args.url or f"http://{settings.gateway_host}:{settings.gateway_port}")


def cmd_replay(args: argparse.Namespace) -> int:
    from loansyncro.db import make_engine
    from services.ledger.replay import replay

    settings = load_settings()
    check_postgres(settings)
    engine = make_engine(settings, pool_size=2)

    def progress(done: int, total: int) -> None:
        percent = 100 if total == 0 else min(100, done * 100 // total)
        print(f"Replayed {done} of {total} loan and repayment events ({percent} %)", flush=True)

    print("Rebuilding the ledger projections from the event store; stop the ledger service first.", flush=True)
    try:
        applied = replay(engine, progress, batch_size=args.batch_size)
    finally:
        engine.dispose()
    print(f"Ledger rebuilt from {applied} events.")
    return 0


def cmd_keys(_args: argparse.Namespace) -> int:
    from dataclasses import replace

    from services.accounts.keys import ensure_secret, ensure_signing_key, key_id

    # This command exists to create keys, so GENERATE_MISSING_KEYS=false does not apply to it.
    settings = replace(load_settings(), generate_missing_keys=True)
    signing_key = ensure_signing_key(settings)
    ensure_secret(settings.email_lookup_key_file, "EMAIL_LOOKUP_KEY_FILE", settings)
    ensure_secret(settings.data_key_wrapping_key_file, "DATA_KEY_WRAPPING_KEY_FILE", settings)
    print(f"Key files are in place; the signing key's kid is {key_id(signing_key.public_key())}.")
    print(f"Signing key: {settings.access_token_private_key_file}")
    print(f"Public key:  {settings.access_token_public_key_files[0]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loansyncro",
        description=(
            "LoanSyncro operations. Settings come from the environment: DATABASE_URL, AMQP_URI, "
            "GATEWAY_HOST, GATEWAY_PORT, LOG_LEVEL, LOG_FORMAT (json or kv); defaults point at 127.0.0.1."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("check", help="check that PostgreSQL and RabbitMQ are reachable").set_defaults(func=cmd_check)
    commands.add_parser(
        "migrate", help="create the database if missing, apply migrations, declare RabbitMQ queues"
    ).set_defaults(func=cmd_migrate)

    run = commands.add_parser("run", help="migrate, then start the relay and every service until Ctrl-C")
    run.add_argument("--no-migrate", action="store_true", help="skip migrations (another step ran them)")
    run.add_argument("--log-dir", default=None, help="write each process's log to DIR/NAME.log instead of the terminal")
    run.set_defaults(func=cmd_run)

    commands.add_parser(
        "keys",
        help="create missing key files (signing key pair, email lookup secret, key-wrapping key) "
        "at the paths set by KEY_DIR or the *_FILE variables; existing files are kept",
    ).set_defaults(func=cmd_keys)

    relay = commands.add_parser(
        "relay",
        help="publish committed events to RabbitMQ (one process)",
        description="Publish committed events from the event store to RabbitMQ. Replicas sharing a name "
        "take turns: one publishes, the others wait.",
    )
    relay.add_argument("--name", default="main", help="checkpoint name; replicas share it (default: main)")
    relay.add_argument("--idle", default="0.1", help="seconds to wait when no event is pending (default: 0.1)")
    relay.set_defaults(func=cmd_relay)
    dead = commands.add_parser(
        "dead-letters", help="list events that consumers parked after failed retries, or retry one"
    )
    dead.add_argument("action", choices=("list", "retry"), help="list parked events, or retry one")
    dead.add_argument("event_id", nargs="?", help="event id to retry (from 'list')")
    dead.set_defaults(func=cmd_dead_letters)

    demo = commands.add_parser(
        "demo", help="register a demo user with realistic loans and repayments on a running system; print its dashboard"
    )
    demo.add_argument(
        "--url",
        default=None,
        help="base URL of the running gateway (default: http://GATEWAY_HOST:GATEWAY_PORT, i.e. http://127.0.0.1:8000)",
    )
    demo.set_defaults(func=cmd_demo)

    replay = commands.add_parser("replay", help="rebuild the ledger projections from the event store, with progress")
    replay.add_argument("--batch-size", type=int, default=500, help="events applied per transaction (default: %(default)s)")
    replay.set_defaults(func=cmd_replay)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        return _fail(str(error))
    configure_logging("cli", "WARNING" if settings.log_level == "INFO" else settings.log_level, "kv")
    try:
        return int(args.func(args))
    except (ConfigError, InfrastructureError) as error:
        return _fail(str(error))


if __name__ == "__main__":
    sys.exit(main())
