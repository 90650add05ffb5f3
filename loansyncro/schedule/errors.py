"""Errors raised by the loan mathematics.

Every rejection of caller input is a :class:`LoanValidationError`, so an HTTP
layer needs one mapping to a 422 response built from ``field``, ``value`` and
``str(err)``. The subclasses add the figure the caller needs to fix the input.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final


class LoanValidationError(ValueError):
    """Invalid loan input; the message names the field, the value and the fix."""

    def __init__(self, field: str, value: object, message: str) -> None:
        super().__init__(message)
        self.field: Final[str] = field
        self.value: Final[object] = value
        self.message: Final[str] = message

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling calls the class with ``args``, which contains only the message.
        return (type(self), (self.field, self.value, self.message))


class NegativeAmortizationError(LoanValidationError):
    """An installment does not cover the interest of its period, so the balance would grow.

    ``minimum_payment`` is an installment that reduces the balance in every
    period: the interest of the costliest period on the starting balance, rounded
    up, plus one minor unit.
    """

    def __init__(self, field: str, value: object, message: str, minimum_payment: Decimal) -> None:
        super().__init__(field, value, message)
        self.minimum_payment: Final[Decimal] = minimum_payment

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.value, self.message, self.minimum_payment))


class RepaymentExceedsPayoffError(LoanValidationError):
    """A repayment is larger than everything owed on its date."""

    def __init__(self, field: str, value: object, message: str, payoff_amount: Decimal, paid_on: date) -> None:
        super().__init__(field, value, message)
        self.payoff_amount: Final[Decimal] = payoff_amount
        self.paid_on: Final[date] = paid_on

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.field, self.value, self.message, self.payoff_amount, self.paid_on))
