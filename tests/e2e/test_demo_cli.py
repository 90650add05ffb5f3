"""`loansyncro demo` against the running system."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_demo_prints_progress_and_dashboard(base_url):
    completed = subprocess.run(
        [sys.executable, "-m", "loansyncro.cli", "demo", "--url", base_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout
    assert "Registering demo+" in output
    assert "Created Home mortgage (USD 320000.00)" in output
    assert "Dashboard as of" in output
    for name in ("Home mortgage", "Car loan", "Student loan", "Loan from family"):
        assert name in output
    assert "USD" in output
    assert "EUR" in output
    assert "354000.00" in output  # USD borrowed: mortgage, car and family loan


def test_demo_reports_unreachable_url():
    # A socket bound by this test but not listening refuses connections.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        completed = subprocess.run(
            [sys.executable, "-m", "loansyncro.cli", "demo", "--url", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert completed.returncode == 1
    assert f"cannot reach {url}" in completed.stderr
