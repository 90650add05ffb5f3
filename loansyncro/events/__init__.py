"""Event contracts: one marshmallow schema per event type and schema version.

Events are stored as JSON: amounts are strings, dates ISO 8601. A contract
registers its current schema and the upcasters that turn older stored
versions into the current shape when read; stored events are never rewritten.
"""

from loansyncro.events.registry import (
    ContractError,
    EventContract,
    contract,
    decode,
    encode,
    get_contract,
    registered_types,
)

__all__ = [
    "ContractError",
    "EventContract",
    "contract",
    "decode",
    "encode",
    "get_contract",
    "registered_types",
]

# Import every contract module so any process can decode any stored event.
from loansyncro.events import loans, reminders, repayments  # noqa: E402,F401
from loansyncro.events import accounts  # noqa: E402,F401
