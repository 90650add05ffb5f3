"""Loan mathematics: schedules, interest accrual, repayment allocation and arrears.

Pure functions over frozen values: no I/O, no clock and no database. Build
:class:`LoanTerms`, then call :func:`build_schedule` for the planned
installments or :func:`loan_state` for the state after actual repayments.
"""

from loansyncro.schedule.amortization import Schedule, ScheduleRow, annuity_payment, build_schedule
from loansyncro.schedule.calendar import Frequency, local_today
from loansyncro.schedule.daycount import DayCount, interest_between, year_fraction
from loansyncro.schedule.errors import LoanValidationError, NegativeAmortizationError, RepaymentExceedsPayoffError
from loansyncro.schedule.state import (
    ExtraMode,
    InstallmentState,
    InstallmentStatus,
    LoanState,
    Repayment,
    RepaymentAllocation,
    TermChange,
    loan_state,
    payoff_amount,
)
from loansyncro.schedule.terms import MAX_INSTALLMENTS, LoanTerms, Method

__all__ = [
    "MAX_INSTALLMENTS",
    "DayCount",
    "ExtraMode",
    "Frequency",
    "InstallmentState",
    "InstallmentStatus",
    "LoanState",
    "LoanTerms",
    "LoanValidationError",
    "Method",
    "NegativeAmortizationError",
    "Repayment",
    "RepaymentAllocation",
    "RepaymentExceedsPayoffError",
    "Schedule",
    "ScheduleRow",
    "TermChange",
    "annuity_payment",
    "build_schedule",
    "interest_between",
    "loan_state",
    "local_today",
    "payoff_amount",
    "year_fraction",
]
