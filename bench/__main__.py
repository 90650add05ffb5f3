"""Run every benchmark in turn: `python -m bench` (what `make bench` does).

Each benchmark runs as its own process, measures its baseline in the same
run and prints a Markdown table. Copy a run's tables into docs/benchmarks.md
with the date and the machine.
"""

from __future__ import annotations

import argparse
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

NOT_BENCHMARKS = {"common", "__main__"}


def main() -> int:
    available = sorted(
        module.name for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name not in NOT_BENCHMARKS
    )
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {', '.join(available)})")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(available)}")

    failed = []
    for name in args.names or available:
        print(f"\n## {name}\n", flush=True)
        started = time.monotonic()
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode != 0:
            failed.append(name)
        print(f"\n({name} took {time.monotonic() - started:.0f} s)", flush=True)
    if failed:
        print(f"failed benchmarks: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
