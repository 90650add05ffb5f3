"""Money: exact minor units from Babel, explicit rounding, no floats, no negative zero."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest

from loansyncro.money import (
    CurrencyMismatchError,
    FloatAmountError,
    Money,
    MoneyValidationError,
    format_amount,
    minor_units,
    parse_amount,
    round_to_minor_unit,
)


def test_minor_units_come_from_currency_data() -> None:
    assert minor_units("JPY") == 0
    assert minor_units("USD") == 2
    assert minor_units("BHD") == 3


def test_amount_is_stored_with_minor_unit_decimals() -> None:
    assert str(Money("5", "USD")) == "5.00"
    assert str(Money("1234.5", "EUR")) == "1234.50"
    assert str(Money("1500", "JPY")) == "1500"
    assert str(Money("1.2", "BHD")) == "1.200"


def test_unknown_currency_is_rejected() -> None:
    with pytest.raises(MoneyValidationError, match="currency 'ZZZ' is not a known ISO 4217 currency code") as caught:
        Money("1.00", "ZZZ")
    assert caught.value.field == "currency"
    assert caught.value.value == "ZZZ"


def test_lower_case_currency_is_rejected() -> None:
    with pytest.raises(MoneyValidationError, match="pass three upper-case letters"):
        Money("1.00", "usd")


def test_float_amount_is_rejected_with_hint() -> None:
    with pytest.raises(FloatAmountError, match=r"amount 2\.675 is a float.*pass a string such as '2\.675'"):
        Money(2.675, "USD")  # type: ignore[arg-type]


def test_float_error_is_type_and_validation_error() -> None:
    with pytest.raises(TypeError):
        Money(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyValidationError):
        Money(0.1, "USD")  # type: ignore[arg-type]


def test_excess_decimals_are_rejected_not_rounded() -> None:
    with pytest.raises(MoneyValidationError, match=r"amount 2\.675 has more decimals than USD allows \(2\)"):
        Money("2.675", "USD")
    with pytest.raises(MoneyValidationError, match="pass a whole number"):
        Money("100.5", "JPY")


def test_trailing_zero_decimals_are_accepted() -> None:
    assert Money("2.6700", "USD").amount == Decimal("2.67")


def test_half_up_rounds_halves_away_from_zero() -> None:
    amounts = ["2.675", "2953.125", "0.625", "0.605"]
    rounded = [str(Money.rounded(amount, "USD", ROUND_HALF_UP)) for amount in amounts]
    assert rounded == ["2.68", "2953.13", "0.63", "0.61"]


def test_half_even_rounds_halves_to_even() -> None:
    amounts = ["2.675", "2953.125", "0.625", "0.605"]
    rounded = [str(Money.rounded(amount, "USD", ROUND_HALF_EVEN)) for amount in amounts]
    assert rounded == ["2.68", "2953.12", "0.62", "0.60"]


def test_default_rounding_is_half_up() -> None:
    assert str(Money.rounded(Decimal("0.125"), "USD")) == "0.13"


def test_rounding_ignores_the_ambient_context() -> None:
    with localcontext() as context:
        context.prec = 3
        context.rounding = "ROUND_DOWN"
        assert str(Money.rounded(Decimal("2953.125"), "USD", ROUND_HALF_UP)) == "2953.13"
        assert str(Money("123456.78", "USD") + Money("0.01", "USD")) == "123456.79"


def test_unknown_rounding_mode_is_rejected() -> None:
    with pytest.raises(MoneyValidationError, match="rounding 'HALF_UP' is not a decimal rounding mode"):
        round_to_minor_unit(Decimal("1.005"), "USD", "HALF_UP")


def test_zero_is_never_negative() -> None:
    assert str(Money("-0.00", "USD")) == "0.00"
    assert str(Money.rounded(Decimal("-0.001"), "USD")) == "0.00"
    assert str(Money("1.00", "USD") - Money("1.00", "USD")) == "0.00"
    assert str(-Money("0", "USD")) == "0.00"
    assert format_amount(Decimal("-0.00")) == "0.00"


def test_repayments_clear_balance_exactly() -> None:
    balance = Money("506.22", "USD") - Money("324.71", "USD") - Money("181.51", "USD")
    assert balance.is_zero()
    assert str(balance) == "0.00"


def test_negative_amounts_keep_their_sign() -> None:
    assert str(Money("-12.30", "USD")) == "-12.30"


def test_different_currencies_cannot_be_added() -> None:
    with pytest.raises(CurrencyMismatchError, match="cannot add 1.00 USD and 1.00 EUR"):
        Money("1", "USD") + Money("1", "EUR")
    with pytest.raises(CurrencyMismatchError, match="cannot subtract"):
        Money("1", "USD") - Money("1", "EUR")


def test_different_currencies_cannot_be_ordered() -> None:
    with pytest.raises(CurrencyMismatchError, match="cannot compare"):
        assert Money("1", "USD") < Money("2", "EUR")
    with pytest.raises(CurrencyMismatchError):
        assert Money("1", "USD") >= Money("2", "EUR")


def test_equality_across_currencies_is_false() -> None:
    assert Money("1", "USD") != Money("1", "EUR")
    assert Money("1", "USD") == Money("1.00", "USD")


def test_same_currency_orders_by_amount() -> None:
    assert Money("1.99", "USD") < Money("2", "USD")
    assert Money("2", "USD") <= Money("2.00", "USD")
    assert max(Money("3", "USD"), Money("10", "USD")) == Money("10", "USD")


def test_times_rounds_explicitly() -> None:
    assert str(Money("10.05", "USD").times(Decimal("0.5"))) == "5.03"
    assert str(Money("10.05", "USD").times(Decimal("0.5"), ROUND_HALF_EVEN)) == "5.02"
    with pytest.raises(FloatAmountError):
        Money("10.05", "USD").times(0.5)  # type: ignore[arg-type]


def test_json_output_uses_strings() -> None:
    money = Money("1234.5", "USD")
    assert money.amount_str == "1234.50"
    assert money.to_json() == {"amount": "1234.50", "currency": "USD"}
    assert json.dumps(money.to_json()) == '{"amount": "1234.50", "currency": "USD"}'


def test_repr_shows_amount_and_currency() -> None:
    assert repr(Money("7", "BHD")) == "Money('7.000', 'BHD')"


def test_parse_amount_accepts_user_text() -> None:
    assert parse_amount("1234.5", "USD") == Decimal("1234.50")
    assert Money.parse("99", "JPY") == Money("99", "JPY")


def test_parse_amount_rejects_excess_decimals() -> None:
    with pytest.raises(MoneyValidationError, match=r"repayment_amount 10\.001 has more decimals than USD") as caught:
        parse_amount("10.001", "USD", field="repayment_amount")
    assert caught.value.field == "repayment_amount"
    assert caught.value.value == "10.001"


def test_parse_amount_rejects_non_numbers() -> None:
    for text in ["", "1,234.50", "12e3", "NaN", "Infinity", "$5", "1.2.3"]:
        with pytest.raises(MoneyValidationError, match="is not a decimal number"):
            parse_amount(text, "USD")


def test_parse_amount_rejects_non_text() -> None:
    with pytest.raises(FloatAmountError):
        parse_amount(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyValidationError, match="is not a string"):
        parse_amount(Decimal("1.5"), "USD")  # type: ignore[arg-type]


def test_non_finite_and_huge_amounts_are_rejected() -> None:
    with pytest.raises(MoneyValidationError, match="is not a finite number"):
        Money(Decimal("NaN"), "USD")
    with pytest.raises(MoneyValidationError, match="is too large"):
        Money(Decimal("1e20"), "USD")


def test_money_is_hashable_value() -> None:
    assert len({Money("1", "USD"), Money("1.00", "USD"), Money("1", "EUR")}) == 2


@pytest.mark.parametrize("text", ["١٠٠", "１００", " 100", "100\n", "+100", ".5", "5.", "1e3", "1_000"])
def test_amount_text_must_be_plain_ascii_decimal(text):
    from loansyncro.money import MoneyValidationError, parse_amount

    with pytest.raises(MoneyValidationError, match="is not a decimal number"):
        parse_amount(text, "EUR")
