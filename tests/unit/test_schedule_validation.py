"""Invalid loan input raises LoanValidationError naming the field, the value and the fix."""

from __future__ import annotations

import pickle
from datetime import date, datetime
from decimal import Decimal

import pytest

from loansyncro.schedule import (
    LoanTerms,
    LoanValidationError,
    NegativeAmortizationError,
    Repayment,
    RepaymentExceedsPayoffError,
    TermChange,
    loan_state,
)


def make_terms(**overrides: object) -> LoanTerms:
    options: dict[str, object] = {
        "principal": Decimal("1000.00"),
        "annual_rate": Decimal("5"),
        "currency": "USD",
        "start_date": date(2025, 1, 1),
        "installments": 12,
    }
    options.update(overrides)
    return LoanTerms(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"principal": Decimal("0")}, "principal", r"principal 0 must be greater than zero"),
        ({"principal": Decimal("-5.00")}, "principal", r"principal -5\.00 must be greater than zero"),
        ({"principal": Decimal("10.005")}, "principal", r"principal 10\.005 has more decimals than USD allows"),
        ({"principal": 1000.0}, "principal", r"principal 1000\.0 is a float.*pass a string"),
        ({"annual_rate": Decimal("-0.1")}, "annual_rate", r"annual_rate -0\.1 is outside 0 to 100"),
        ({"annual_rate": Decimal("100.01")}, "annual_rate", r"annual_rate 100\.01 is outside 0 to 100"),
        ({"annual_rate": 5.5}, "annual_rate", r"annual_rate 5\.5 is a float"),
        ({"currency": "XYZ"}, "currency", r"currency 'XYZ' is not a known ISO 4217 currency code"),
        ({"currency": "dollar"}, "currency", r"currency 'dollar' is not a known ISO 4217"),
        ({"frequency": "daily"}, "frequency", r"frequency 'daily' is not supported; use one of 'weekly'"),
        ({"method": "balloon"}, "method", r"method 'balloon' is not supported; use one of 'annuity'"),
        ({"day_count": "30/365"}, "day_count", r"day_count '30/365' is not supported; use one of '30/360'"),
        ({"rounding": "HALF_UP"}, "rounding", r"rounding 'HALF_UP' is not a decimal rounding mode"),
        (
            {"installments": None, "end_date": date(2024, 12, 1)},
            "end_date",
            r"end_date 2024-12-01 is before the first due date",
        ),
        (
            {"installments": None, "end_date": date(2025, 1, 20)},
            "end_date",
            r"end_date 2025-01-20 is before the first due date 2025-02-01",
        ),
        (
            {"first_payment_date": date(2024, 12, 31)},
            "first_payment_date",
            r"first_payment_date 2024-12-31 is not after start_date 2025-01-01",
        ),
        (
            {"installments": 12, "end_date": date(2026, 1, 1)},
            "installments",
            r"pass exactly one of installments and end_date",
        ),
        ({"installments": None}, "installments", r"pass exactly one of installments and end_date"),
        ({"installments": 0}, "installments", r"installments 0 must be a whole number from 1 to 3000"),
        ({"installments": 3001}, "installments", r"installments 3001 must be a whole number from 1 to 3000"),
        ({"installments": True}, "installments", r"installments True must be a whole number"),
        (
            {"method": "zero_interest"},
            "annual_rate",
            r"annual_rate 5 must be 0 for a zero_interest loan",
        ),
        (
            {"method": "interest_only", "installment_amount": Decimal("50.00")},
            "installment_amount",
            r"installment_amount applies only to the annuity and zero_interest methods",
        ),
        (
            {"installment_amount": Decimal("85.555")},
            "installment_amount",
            r"installment_amount 85\.555 has more decimals than USD allows",
        ),
        (
            {"semi_monthly_days": (15, 1)},
            "semi_monthly_days",
            r"semi_monthly_days \(15, 1\) must be two increasing days of the month",
        ),
        (
            {"frequency": "semi_monthly", "first_payment_date": date(2025, 1, 20)},
            "first_payment_date",
            r"first_payment_date 2025-01-20 is not one of the semi-monthly due days 1 and 15",
        ),
        (
            {"start_date": datetime(2025, 1, 1, 12, 0)},
            "start_date",
            r"start_date .* is not a calendar date; pass a datetime.date",
        ),
    ],
)
def test_invalid_terms_name_field_and_fix(overrides: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(LoanValidationError, match=message) as caught:
        make_terms(**overrides)
    assert caught.value.field == field


def test_invalid_terms_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="principal"):
        make_terms(principal=Decimal("0"))


def test_invalid_terms_error_keeps_value() -> None:
    with pytest.raises(LoanValidationError) as caught:
        make_terms(currency="XYZ")
    assert caught.value.value == "XYZ"
    assert "XYZ" in str(caught.value)


def test_japanese_yen_rejects_decimals() -> None:
    with pytest.raises(LoanValidationError, match=r"principal 1000\.50 has more decimals than JPY allows \(0\)"):
        make_terms(currency="JPY", principal=Decimal("1000.50"))


def test_bahraini_dinar_accepts_three_decimals() -> None:
    terms = make_terms(currency="BHD", principal=Decimal("1000.125"))

    assert terms.principal == Decimal("1000.125")


def test_string_inputs_are_converted() -> None:
    terms = make_terms(principal="1000.5", annual_rate="4.25", frequency="weekly", day_count="actual/365")

    assert terms.principal == Decimal("1000.50")
    assert terms.annual_rate == Decimal("4.25")
    assert terms.frequency.value == "weekly"
    assert terms.day_count.value == "actual/365"


def test_errors_survive_pickling() -> None:
    errors: list[LoanValidationError] = [
        LoanValidationError("principal", "0", "principal 0 must be greater than zero"),
        NegativeAmortizationError("installment_amount", "1.00", "too low", Decimal("2.00")),
        RepaymentExceedsPayoffError("amount", "9.00", "too high", Decimal("5.00"), date(2025, 1, 1)),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert copy.field == error.field
        assert str(copy) == str(error)


# Repayments and term changes ---------------------------------------------------


def test_repayment_float_amount_is_rejected() -> None:
    with pytest.raises(LoanValidationError, match=r"amount 85\.6 is a float") as caught:
        loan_state(make_terms(), [Repayment("r1", 85.6, date(2025, 2, 1))], date(2025, 3, 1))  # type: ignore[arg-type]
    assert caught.value.field == "amount"


def test_repayment_excess_decimals_are_rejected() -> None:
    with pytest.raises(LoanValidationError, match=r"amount 85\.611 has more decimals than USD allows") as caught:
        loan_state(make_terms(), [Repayment("r1", Decimal("85.611"), date(2025, 2, 1))], date(2025, 3, 1))
    assert caught.value.field == "amount"


def test_repayment_of_zero_is_rejected() -> None:
    with pytest.raises(LoanValidationError, match=r"amount 0\.00 must be greater than zero"):
        loan_state(make_terms(), [Repayment("r1", Decimal("0.00"), date(2025, 2, 1))], date(2025, 3, 1))


def test_repayment_before_start_is_rejected() -> None:
    with pytest.raises(LoanValidationError, match=r"repayment r1 paid_on 2024-12-31 is before the loan start") as caught:
        loan_state(make_terms(), [Repayment("r1", Decimal("10.00"), date(2024, 12, 31))], date(2025, 3, 1))
    assert caught.value.field == "paid_on"


def test_duplicate_repayment_ids_are_rejected() -> None:
    repayments = [Repayment("r1", Decimal("10.00"), date(2025, 2, 1)), Repayment("r1", Decimal("5.00"), date(2025, 2, 2))]

    with pytest.raises(LoanValidationError, match=r"repayment id 'r1' appears twice") as caught:
        loan_state(make_terms(), repayments, date(2025, 3, 1))
    assert caught.value.field == "id"


def test_repayment_needs_an_id() -> None:
    with pytest.raises(LoanValidationError, match=r"repayment id '' must be a non-empty string"):
        Repayment("", Decimal("10.00"), date(2025, 2, 1))


def test_repayment_extra_mode_must_be_known() -> None:
    with pytest.raises(LoanValidationError, match=r"extra_mode 'skip' is not supported; use one of 'shorten_term'"):
        Repayment("r1", Decimal("10.00"), date(2025, 2, 1), "skip")  # type: ignore[arg-type]


def test_repayment_above_payoff_names_payoff() -> None:
    repayments = [Repayment("r1", Decimal("5000.00"), date(2025, 3, 1))]

    with pytest.raises(
        RepaymentExceedsPayoffError,
        match=r"amount 5000\.00 exceeds the payoff amount 1008\.34 on 2025-03-01",
    ) as caught:
        loan_state(make_terms(), repayments, date(2025, 3, 1))
    assert caught.value.field == "amount"
    assert caught.value.payoff_amount == Decimal("1008.34")


def test_term_change_must_change_something() -> None:
    with pytest.raises(LoanValidationError, match=r"term change on 2025-06-01 changes nothing"):
        TermChange(date(2025, 6, 1))


def test_term_change_rate_is_bounded() -> None:
    with pytest.raises(LoanValidationError, match=r"annual_rate 120 is outside 0 to 100") as caught:
        TermChange(date(2025, 6, 1), annual_rate=Decimal("120"))
    assert caught.value.field == "annual_rate"


def test_term_change_takes_one_count() -> None:
    with pytest.raises(LoanValidationError, match=r"pass at most one of installments and end_date"):
        TermChange(date(2025, 6, 1), installments=6, end_date=date(2026, 1, 1))


def test_term_change_end_before_effective_date() -> None:
    with pytest.raises(LoanValidationError, match=r"end_date 2025-05-01 is not after effective_on 2025-06-01"):
        TermChange(date(2025, 6, 1), end_date=date(2025, 5, 1))


def test_two_term_changes_on_one_day_are_rejected() -> None:
    changes = [
        TermChange(date(2025, 6, 1), annual_rate=Decimal("6")),
        TermChange(date(2025, 6, 1), installments=6),
    ]

    with pytest.raises(LoanValidationError, match=r"two term changes take effect on 2025-06-01; merge them"):
        loan_state(make_terms(), [], date(2025, 7, 1), changes)


def test_term_change_before_start_is_rejected() -> None:
    with pytest.raises(LoanValidationError, match=r"effective_on 2024-06-01 is before the loan start"):
        loan_state(make_terms(), [], date(2025, 7, 1), [TermChange(date(2024, 6, 1), annual_rate=Decimal("6"))])


def test_term_change_rate_on_zero_interest_loan() -> None:
    terms = make_terms(method="zero_interest", annual_rate=Decimal("0"))

    with pytest.raises(LoanValidationError, match=r"annual_rate 3 must be 0 for a zero_interest loan"):
        loan_state(terms, [], date(2025, 7, 1), [TermChange(date(2025, 6, 1), annual_rate=Decimal("3"))])


@pytest.mark.parametrize("field", ["start_date", "end_date"])
@pytest.mark.parametrize("year", [1899, 2200, 9999])
def test_loan_dates_outside_supported_years_rejected(field, year):
    from datetime import date as calendar_date

    from loansyncro.schedule import LoanTerms, LoanValidationError

    dates = {"start_date": calendar_date(2024, 1, 1), "end_date": calendar_date(2030, 1, 1)}
    dates[field] = calendar_date(year, 6, 30)
    with pytest.raises(LoanValidationError, match=f"{field} {year}-06-30 is out of range"):
        LoanTerms(principal="1000.00", annual_rate="5", currency="EUR", **dates)
