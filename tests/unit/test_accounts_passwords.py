"""argon2id hashing: parameters, verification, re-hash detection, and not blocking eventlet."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace

from loansyncro.config import Settings
from services.accounts.passwords import Passwords

FAST = Settings()


def test_hash_is_argon2id_with_minimum_cost():
    password_hash = Passwords(FAST).hash("violet tractor sings at dawn")
    assert password_hash.startswith("$argon2id$")
    assert "m=19456,t=2" in password_hash


def test_verify_right_and_wrong_password():
    passwords = Passwords(FAST)
    password_hash = passwords.hash("violet tractor sings at dawn")
    assert passwords.verify(password_hash, "violet tractor sings at dawn")
    assert not passwords.verify(password_hash, "violet tractor sings at dusk")
    assert not passwords.verify("not a hash", "violet tractor sings at dawn")
    assert not passwords.verify_unknown_user("violet tractor sings at dawn")


def test_raised_parameters_need_rehash():
    old_hash = Passwords(FAST).hash("violet tractor sings at dawn")
    stronger = Passwords(replace(FAST, argon2_time_cost=3))
    assert stronger.needs_rehash(old_hash)
    assert not stronger.needs_rehash(stronger.hash("violet tractor sings at dawn"))


def test_hashing_leaves_eventlet_hub_running():
    # Under eventlet, a greenthread ticking every 10 ms must keep ticking while
    # a deliberately slow hash (256 MiB, 4 passes) runs in another greenthread.
    script = textwrap.dedent(
        """
        import eventlet
        eventlet.monkey_patch()
        import time
        from dataclasses import replace
        from loansyncro.config import Settings
        from services.accounts.passwords import Passwords

        passwords = Passwords(replace(Settings(), argon2_memory_kib=256 * 1024, argon2_time_cost=4))
        ticks = []

        def ticker():
            while True:
                ticks.append(time.monotonic())
                eventlet.sleep(0.01)

        eventlet.spawn(ticker)
        eventlet.sleep(0.05)
        started = time.monotonic()
        passwords.hash("violet tractor sings at dawn")
        finished = time.monotonic()
        during = [t for t in ticks if started <= t <= finished]
        gaps = [b - a for a, b in zip(during, during[1:])]
        print(f"{finished - started:.3f} {len(during)} {max(gaps, default=0):.3f}")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    duration, ticks, largest_gap = result.stdout.split()
    assert float(duration) > 0.1, "the hash was too quick to show anything"
    assert int(ticks) >= 5
    assert float(largest_gap) < float(duration) / 2


def test_weak_argon2_settings_rejected():
    import pytest

    from loansyncro.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="ARGON2_MEMORY_KIB"):
        load_settings({"ARGON2_MEMORY_KIB": "1024"})
    with pytest.raises(ConfigError, match="ARGON2_TIME_COST"):
        load_settings({"ARGON2_TIME_COST": "1"})
