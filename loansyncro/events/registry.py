"""Registry of event contracts, with encoding on append and upcasting on read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import marshmallow

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class ContractError(ValueError):
    """Event data does not match its contract, or the event type is unknown."""


@dataclass(frozen=True)
class EventContract:
    event_type: str
    version: int
    schema: marshmallow.Schema
    # upcasters[n] turns version n data into version n + 1 data.
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)


_CONTRACTS: dict[str, EventContract] = {}


def contract(
    event_type: str, version: int = 1, upcasters: Mapping[int, Upcaster] | None = None
) -> Callable[[type[marshmallow.Schema]], type[marshmallow.Schema]]:
    """Class decorator registering a schema as the current contract of `event_type`."""

    def register(schema_class: type[marshmallow.Schema]) -> type[marshmallow.Schema]:
        missing = [v for v in range(1, version) if v not in (upcasters or {})]
        if missing:
            raise ContractError(f"{event_type} v{version} needs upcasters from versions {missing}")
        _CONTRACTS[event_type] = EventContract(
            event_type, version, schema_class(unknown=marshmallow.RAISE), dict(upcasters or {})
        )
        return schema_class

    return register


def get_contract(event_type: str) -> EventContract:
    try:
        return _CONTRACTS[event_type]
    except KeyError:
        raise ContractError(f"unknown event type {event_type!r}: register a contract for it") from None


def registered_types() -> frozenset[str]:
    return frozenset(_CONTRACTS)


def encode(event_type: str, data: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """Validate `data` against the current contract; return (schema version, JSON-ready dict)."""
    current = get_contract(event_type)
    try:
        loaded = current.schema.load(current.schema.dump(data))
    except marshmallow.ValidationError as error:
        raise ContractError(f"{event_type} data is invalid: {error.messages}") from error
    except (ArithmeticError, AttributeError, TypeError, ValueError) as error:
        # dump() converts before it validates, so a wrongly typed value fails here.
        raise ContractError(f"{event_type} data is invalid: {error!r}") from error
    return current.version, current.schema.dump(loaded)


def decode(event_type: str, schema_version: int, data: Mapping[str, Any]) -> dict[str, Any]:
    """Upcast stored data to the current contract version and load it into Python values."""
    current = get_contract(event_type)
    if schema_version > current.version:
        raise ContractError(
            f"{event_type} v{schema_version} is newer than this code's v{current.version}: deploy the newer code"
        )
    upgraded = dict(data)
    for version in range(schema_version, current.version):
        upgraded = current.upcasters[version](upgraded)
    try:
        return current.schema.load(upgraded)
    except marshmallow.ValidationError as error:
        raise ContractError(f"stored {event_type} v{schema_version} is invalid: {error.messages}") from error
