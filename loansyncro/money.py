"""Money: a Decimal amount in an ISO 4217 currency, exact to the currency's minor unit.

The number of minor-unit digits of each currency comes from Babel's CLDR data
(``babel.numbers.get_currency_precision``: JPY 0, USD 2, BHD 3). Every rounding
names its mode and goes through ``quantize`` with :data:`MONEY_CONTEXT`, so a
caller that changes the thread's decimal context cannot change an amount.
Floats are rejected everywhere because ``Decimal(2.675)`` is 2.67499999...
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import lru_cache
from typing import Final, ParamSpec, TypeVar

from babel.numbers import get_currency_precision, is_currency

# Precision for intermediate results such as balance * rate / 1200. Sixty digits
# keep any amount below 10**18 exact through a few multiplications and one division.
MONEY_CONTEXT: Final[Context] = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

DEFAULT_ROUNDING: Final[str] = ROUND_HALF_UP

ROUNDING_MODES: Final[frozenset[str]] = frozenset(
    {
        ROUND_HALF_UP,
        ROUND_HALF_EVEN,
        ROUND_HALF_DOWN,
        ROUND_UP,
        ROUND_DOWN,
        ROUND_CEILING,
        ROUND_FLOOR,
        ROUND_05UP,
    }
)

# Largest accepted magnitude of an amount. It bounds the digits that the
# 60-digit context has to carry.
MAX_AMOUNT: Final[Decimal] = Decimal("1e18")

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")

_CURRENCY_CODE: Final[re.Pattern[str]] = re.compile(r"[A-Z]{3}")
# ASCII digits only: Python's Decimal and \d also accept Arabic-Indic or
# full-width digits, which no amount field should silently turn into 100.
_DECIMAL_TEXT: Final[re.Pattern[str]] = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def in_money_context(function: Callable[_Params, _Result]) -> Callable[_Params, _Result]:
    """Run ``function`` with a copy of MONEY_CONTEXT as the thread's decimal context.

    Public calculations use it so that operators such as ``+`` inside them do not
    depend on a precision or rounding that a caller set for its own thread.
    """

    @functools.wraps(function)
    def wrapper(*args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        with localcontext(MONEY_CONTEXT):
            return function(*args, **kwargs)

    return wrapper


class MoneyValidationError(ValueError):
    """Invalid money input: unknown currency, too many decimals or a bad amount.

    ``field`` names the input that failed and ``value`` contains it as given, so
    an HTTP layer can build a 422 response from ``field``, ``value`` and ``str(err)``.
    """

    def __init__(self, field: str, value: object, message: str) -> None:
        super().__init__(message)
        self.field: Final[str] = field
        self.value: Final[object] = value


class FloatAmountError(MoneyValidationError, TypeError):
    """A float was passed where an exact decimal amount is required."""


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were added, subtracted or ordered."""


def validate_currency(code: object, field: str = "currency") -> str:
    """Return ``code`` if it is a known ISO 4217 code, else raise MoneyValidationError."""
    if not isinstance(code, str) or not _CURRENCY_CODE.fullmatch(code) or not is_currency(code):
        raise MoneyValidationError(
            field,
            code,
            f"{field} {code!r} is not a known ISO 4217 currency code; "
            "pass three upper-case letters such as 'USD', 'EUR' or 'JPY'",
        )
    return code


@lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    """Return the number of decimal places of ``currency`` (JPY 0, USD 2, BHD 3)."""
    return int(get_currency_precision(validate_currency(currency)))


@lru_cache(maxsize=512)
def minor_unit(currency: str) -> Decimal:
    """Return the smallest amount of ``currency`` as an exponent for ``quantize``."""
    return Decimal(1).scaleb(-minor_units(currency))


def zero_amount(currency: str) -> Decimal:
    """Return zero with the minor-unit decimals of ``currency``, such as 0.00 for USD."""
    return minor_unit(currency) * 0


def normalize_zero(value: Decimal) -> Decimal:
    """Return ``value`` with a negative zero turned into positive zero of the same exponent."""
    if value.is_zero() and value.is_signed():
        return value.copy_abs()
    return value


def round_to_minor_unit(value: Decimal, currency: str, rounding: str) -> Decimal:
    """Round ``value`` to the minor unit of ``currency`` with the named rounding mode.

    The result is never a negative zero.
    """
    if rounding not in ROUNDING_MODES:
        raise MoneyValidationError(
            "rounding",
            rounding,
            f"rounding {rounding!r} is not a decimal rounding mode; "
            f"use one of {', '.join(sorted(ROUNDING_MODES))}",
        )
    rounded = value.quantize(minor_unit(currency), rounding=rounding, context=MONEY_CONTEXT)
    return normalize_zero(rounded)


def _reject_float(value: object, field: str) -> None:
    if isinstance(value, float):
        raise FloatAmountError(
            field,
            value,
            f"{field} {value!r} is a float, which cannot represent money exactly; "
            f"pass a string such as '{value}' or a Decimal instead",
        )


def to_decimal(value: object, field: str) -> Decimal:
    """Convert a Decimal, int or decimal string to a finite Decimal.

    Raises FloatAmountError for floats and MoneyValidationError for anything
    else that is not a finite decimal number below :data:`MAX_AMOUNT`.
    """
    _reject_float(value, field)
    if isinstance(value, bool):
        raise MoneyValidationError(field, value, f"{field} {value!r} is a boolean; pass a decimal string")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value
        if not _DECIMAL_TEXT.fullmatch(text):
            raise MoneyValidationError(
                field,
                value,
                f"{field} {value!r} is not a decimal number; pass ASCII digits with an optional "
                "'-' and '.' decimals, without spaces, such as '1234.50'",
            )
        number = Decimal(text)
    else:
        raise MoneyValidationError(
            field,
            value,
            f"{field} {value!r} has type {type(value).__name__}; pass a decimal string or a Decimal",
        )
    if not number.is_finite():
        raise MoneyValidationError(field, value, f"{field} {value!r} is not a finite number")
    if abs(number) >= MAX_AMOUNT:
        raise MoneyValidationError(field, value, f"{field} {value!r} is too large; the maximum is below 1e18")
    return number


def exact_amount(value: object, currency: str, field: str = "amount") -> Decimal:
    """Return ``value`` as a Decimal with exactly the minor-unit decimals of ``currency``.

    Accepts a Decimal, an int or a decimal string. Raises MoneyValidationError
    when the value has more decimals than the currency allows, because silently
    rounding input would change the amount the user typed.
    """
    number = to_decimal(value, field)
    quantized = number.quantize(minor_unit(currency), rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)
    if quantized != number:
        places = minor_units(currency)
        fix = f"pass at most {places} decimals" if places else "pass a whole number"
        raise MoneyValidationError(
            field,
            value,
            f"{field} {value} has more decimals than {currency} allows ({places}); {fix}",
        )
    return normalize_zero(quantized)


def parse_amount(text: str, currency: str, field: str = "amount") -> Decimal:
    """Parse a decimal string typed by a user into an exact amount of ``currency``.

    Raises MoneyValidationError naming ``field`` and the text when the text is not
    a decimal number or has more decimals than the currency allows.
    """
    if not isinstance(text, str):
        _reject_float(text, field)
        raise MoneyValidationError(field, text, f"{field} {text!r} is not a string; pass the amount as text")
    return exact_amount(text, currency, field)


def format_amount(value: Decimal) -> str:
    """Format an amount as a plain decimal string without exponent and never as "-0"."""
    return format(normalize_zero(value), "f")


@dataclass(frozen=True, slots=True, init=False)
class Money:
    """An exact amount of one currency, stored with the currency's minor-unit decimals.

    ``Money("5", "USD")`` stores 5.00. An amount with more decimals than the
    currency allows is rejected. Use :meth:`rounded` to round a computed value
    with an explicit rounding mode. Equality between different currencies is
    False, while ordering and arithmetic across currencies raise
    CurrencyMismatchError.
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        code = validate_currency(currency)
        object.__setattr__(self, "amount", exact_amount(amount, code))
        object.__setattr__(self, "currency", code)

    @classmethod
    def rounded(cls, value: Decimal | int | str, currency: str, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Round a computed value to the minor unit of ``currency`` with ``rounding``."""
        number = to_decimal(value, "amount")
        return cls(round_to_minor_unit(number, validate_currency(currency), rounding), currency)

    @classmethod
    def parse(cls, text: str, currency: str, field: str = "amount") -> Money:
        """Parse user input, rejecting more decimals than ``currency`` allows."""
        return cls(parse_amount(text, validate_currency(currency), field), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return the zero amount of ``currency``."""
        return cls(Decimal(0), currency)

    @property
    def amount_str(self) -> str:
        """Amount as a plain decimal string, such as "1234.50"."""
        return format_amount(self.amount)

    def to_json(self) -> dict[str, str]:
        """Return a JSON-ready mapping with the amount as a string, never a float."""
        return {"amount": self.amount_str, "currency": self.currency}

    def is_zero(self) -> bool:
        """Return True if the amount is zero."""
        return self.amount.is_zero()

    def times(self, factor: Decimal | int, rounding: str = DEFAULT_ROUNDING) -> Money:
        """Multiply by an exact factor and round the product with ``rounding``."""
        _reject_float(factor, "factor")
        product = MONEY_CONTEXT.multiply(self.amount, Decimal(factor))
        return Money(round_to_minor_unit(product, self.currency, rounding), self.currency)

    def _check_same_currency(self, other: Money, operation: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(
                f"cannot {operation} {self.amount_str} {self.currency} and "
                f"{other.amount_str} {other.currency}; convert one amount first"
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other, "add")
        return Money(MONEY_CONTEXT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other, "subtract")
        return Money(MONEY_CONTEXT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(MONEY_CONTEXT.minus(self.amount), self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other, "compare")
        return self.amount >= other.amount

    def __str__(self) -> str:
        return self.amount_str

    def __repr__(self) -> str:
        return f"Money('{self.amount_str}', '{self.currency}')"
