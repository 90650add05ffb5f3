"""Boundaries the folder layout promises: services share the kernel, never each other's code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
SERVICE_NAMES = sorted(path.name for path in SERVICES.iterdir() if (path / "__init__.py").exists())


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_service_imports_no_other_service(service):
    foreign = {
        f"{path.relative_to(SERVICES.parent)}: {module}"
        for path in (SERVICES / service).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("services.") and module.split(".")[1] != service
    }
    assert not foreign, f"{service} imports other services' code: {sorted(foreign)}"


def test_every_service_is_checked():
    assert set(SERVICE_NAMES) >= {"accounts", "loans", "repayments", "ledger", "notifier", "gateway"}
