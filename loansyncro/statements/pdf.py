"""PDF statement: cover summary, then per loan its terms, charts, schedule and repayment history.

Pure: it takes the ledger's statement data (amounts as decimal strings, dates
as ISO strings) and returns PDF bytes, without I/O. Labels are in English;
amounts and dates follow the user's locale through Babel, and the paper is
US Letter or A4 by the locale's territory.

Long tables are reportlab `LongTable`s with `repeatRows=1`, so their header
is repeated on every page. LongTable stops measuring rows once a page is
full, which keeps a 10,000-row history close to linear in time.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from babel import Locale
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, KeepTogether, LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus.flowables import Flowable

from loansyncro.statements.charts import balance_chart, paid_by_period, principal_interest_chart
from loansyncro.statements.fonts import BOLD, REGULAR, paragraph_markup, plain_text_font, register_fonts
from loansyncro.statements.formatting import date_text, datetime_text, money, page_size_for, parse_locale

AUTHOR: Final = "LoanSyncro"
MARGIN: Final = 15 * mm
HEADER_BACKGROUND: Final = colors.HexColor("#e8eef4")
GRID_COLOR: Final = colors.HexColor("#c5ccd3")
OVERDUE_COLOR: Final = colors.HexColor("#b3261e")

STYLES: Final = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=18, leading=22, spaceAfter=6),
    "heading": ParagraphStyle("heading", fontName=BOLD, fontSize=13, leading=16, spaceBefore=6, spaceAfter=4),
    "subheading": ParagraphStyle("subheading", fontName=BOLD, fontSize=10, leading=13, spaceBefore=8, spaceAfter=3),
    "body": ParagraphStyle("body", fontName=REGULAR, fontSize=9, leading=12),
    "small": ParagraphStyle("small", fontName=REGULAR, fontSize=8, leading=10, textColor=colors.HexColor("#4a5560")),
    "cell": ParagraphStyle("cell", fontName=REGULAR, fontSize=8, leading=10),
}

# 8-point text with reportlab's 1.2 leading plus 2 points of padding above and below.
SINGLE_LINE_ROW_HEIGHT: Final = 8 * 1.2 + 4
TOTALS_CURRENCIES_PER_TABLE: Final = 4
TOTAL_LABELS: Final = (
    ("borrowed", "Borrowed"),
    ("repaid", "Repaid"),
    ("principal_paid", "Principal paid"),
    ("interest_paid", "Interest paid"),
    ("outstanding_principal", "Outstanding principal"),
    ("payoff_amount", "Payoff amount"),
    ("arrears", "Arrears"),
)

STATUS_LABELS: Final = {
    "on_track": "On track",
    "overdue": "Overdue",
    "paid_off": "Paid off",
    "closed": "Closed",
    "paid": "Paid",
    "partially_paid": "Partly paid",
    "due": "Due",
    "upcoming": "Upcoming",
    "all": "All",
    "active": "Active",
}


@dataclass(frozen=True)
class StatementOptions:
    """How to present a statement: the user's locale and the time the export was requested."""

    locale: str | None
    generated_at: dt.datetime
    title: str = "Loan statement"


def render_statement_pdf(statement: Mapping[str, Any], options: StatementOptions) -> bytes:
    """Render the statement data as a PDF document and return its bytes."""
    register_fonts()
    locale = parse_locale(options.locale)
    time_zone = statement["time_zone"]
    as_of = date_text(statement["as_of"], locale)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=page_size_for(locale),
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=f"{options.title} as of {statement['as_of']}",
        author=AUTHOR,
        subject=f"Loans, schedules and repayments as of {statement['as_of']} ({time_zone})",
        creator=AUTHOR,
        keywords=["loan statement", "repayments", "amortisation schedule"],
        # Without it every page also references Helvetica, a font the PDF does not embed.
        initialFontName=REGULAR,
    )
    width = document.width
    writer = _Writer(locale, width)

    story: list[Flowable] = []
    story += writer.cover(statement, options, as_of)
    for loan in statement["loans"]:
        story.append(PageBreak())
        story += writer.loan_section(loan)

    footer = f"{AUTHOR} · {options.title} · as of {as_of} ({time_zone})"

    def draw_footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(plain_text_font(footer), 7)
        canvas.setFillColor(colors.HexColor("#4a5560"))
        canvas.drawString(MARGIN, MARGIN / 2, footer)
        canvas.drawRightString(doc.pagesize[0] - MARGIN, MARGIN / 2, f"Page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()


class _Writer:
    """Build the flowables of one statement in one locale."""

    def __init__(self, locale: Locale, width: float) -> None:
        self.locale = locale
        self.width = width

    def money(self, amount: str | Decimal | None, currency: str) -> str:
        return money(amount, currency, self.locale)

    def date(self, value: str | None) -> str:
        return date_text(value, self.locale)

    @staticmethod
    def rate_text(current: str, initial: str | None) -> str:
        """Show the current rate, and the rate at creation when a term change replaced it."""
        if initial is None or Decimal(initial) == Decimal(current):
            return f"{current} %"
        return f"{current} % (was {Decimal(initial).normalize():f} % at creation)"

    # Cover -------------------------------------------------------------------

    def cover(self, statement: Mapping[str, Any], options: StatementOptions, as_of: str) -> list[Flowable]:
        filters = statement["filters"]
        time_zone = statement["time_zone"]
        period = "whole history"
        if filters.get("from") or filters.get("to"):
            period = f"{self.date(filters.get('from')) or 'start'} to {self.date(filters.get('to')) or 'today'}"
        loans = statement["loans"]
        flowables: list[Flowable] = [
            Paragraph(paragraph_markup(options.title), STYLES["title"]),
            Paragraph(f"As of <b>{paragraph_markup(as_of)}</b> in time zone {paragraph_markup(time_zone)}", STYLES["body"]),
            Paragraph(f"Generated {paragraph_markup(datetime_text(options.generated_at, time_zone, self.locale))}", STYLES["body"]),
            Paragraph(
                f"Loans: {paragraph_markup(STATUS_LABELS.get(filters['status'], filters['status']))} "
                f"({len(loans)} selected) · Repayments and installments listed: {paragraph_markup(period)}",
                STYLES["body"],
            ),
            Spacer(1, 6 * mm),
            Paragraph("Totals per currency", STYLES["heading"]),
        ]
        if statement["totals"]:
            flowables += self.totals_tables(statement["totals"])
            flowables.append(
                Paragraph("Totals are of today and are never added across currencies.", STYLES["small"])
            )
        else:
            flowables.append(Paragraph("No loans match these filters.", STYLES["body"]))

        if loans:
            flowables += [Paragraph("Loans", STYLES["heading"]), self.loans_table(loans)]
            flowables += self.cover_charts(loans)
        return flowables

    def totals_tables(self, totals: Sequence[Mapping[str, Any]]) -> list[Flowable]:
        """Lay out totals with one column per currency, at most TOTALS_CURRENCIES_PER_TABLE side by side."""
        tables: list[Flowable] = []
        for start in range(0, len(totals), TOTALS_CURRENCIES_PER_TABLE):
            chunk = totals[start : start + TOTALS_CURRENCIES_PER_TABLE]
            rows: list[list[str]] = [["", *(entry["currency"] for entry in chunk)]]
            rows.append(["Loans", *(str(entry["loans"]) for entry in chunk)])
            for key, label in TOTAL_LABELS:
                rows.append([label, *(self.money(entry[key], entry["currency"]) for entry in chunk)])
            label_width = 0.25
            amount_width = (1 - label_width) / TOTALS_CURRENCIES_PER_TABLE
            widths = _share(self.width, [label_width, *([amount_width] * len(chunk))])
            tables += [_table(rows, widths, numeric_from=1), Spacer(1, 2 * mm)]
        return tables

    def loans_table(self, loans: Sequence[Mapping[str, Any]]) -> LongTable:
        header = ["Loan", "Lender", "Status", "Principal", "Outstanding", "Next due"]
        rows = []
        for loan in loans:
            next_due = ""
            if loan.get("next_due_date"):
                next_due = f"{self.money(loan['next_due_amount'], loan['currency'])} on {self.date(loan['next_due_date'])}"
            rows.append(
                [
                    Paragraph(paragraph_markup(loan["name"]), STYLES["cell"]),
                    Paragraph(paragraph_markup(loan.get("lender") or ""), STYLES["cell"]),
                    STATUS_LABELS.get(loan["status"] or "", loan["status"] or "not computed"),
                    self.money(loan["principal"], loan["currency"]),
                    self.money(loan["outstanding_principal"], loan["currency"]),
                    Paragraph(paragraph_markup(next_due), STYLES["cell"]),
                ]
            )
        widths = _share(self.width, [0.22, 0.2, 0.1, 0.15, 0.15, 0.18])
        return _table([header, *rows], widths, numeric_from=3, numeric_to=5)

    def cover_charts(self, loans: Sequence[Mapping[str, Any]]) -> list[Flowable]:
        """Draw principal against interest paid, one chart per currency because amounts of currencies never mix."""
        by_currency: dict[str, list[Mapping[str, Any]]] = {}
        for loan in loans:
            by_currency.setdefault(loan["currency"], []).extend(loan["repayments"])
        flowables: list[Flowable] = []
        for currency in sorted(by_currency):
            periods, principal, interest = paid_by_period(by_currency[currency])
            title = f"Principal and interest paid, all selected loans ({currency})"
            chart = principal_interest_chart(title, periods, principal, interest, width=self.width, height=150)
            flowables += [Spacer(1, 4 * mm), chart]
        return flowables

    # One loan ---------------------------------------------------------------------

    def loan_section(self, loan: Mapping[str, Any]) -> list[Flowable]:
        currency = loan["currency"]
        title = paragraph_markup(loan["name"])
        if loan.get("lender"):
            title += f" <font size=10 color='#4a5560'>· {paragraph_markup(loan['lender'])}</font>"
        flowables: list[Flowable] = [Paragraph(title, STYLES["heading"])]
        if loan.get("computation_error"):
            flowables.append(Paragraph(f"Figures could not be computed: {paragraph_markup(loan['computation_error'])}", STYLES["body"]))
        flowables.append(self.terms_table(loan))

        actual, planned = _balance_series(loan)
        flowables.append(Spacer(1, 3 * mm))
        flowables.append(balance_chart(f"Outstanding principal ({currency}): actual against plan", actual, planned, width=self.width))
        periods, principal, interest = paid_by_period(loan["repayments"])
        flowables.append(principal_interest_chart(f"Principal and interest paid ({currency})", periods, principal, interest, width=self.width))

        flowables.append(CondPageBreak(40 * mm))
        flowables.append(Paragraph("Amortisation schedule", STYLES["subheading"]))
        if loan["installments"]:
            flowables.append(self.schedule_table(loan))
        else:
            flowables.append(Paragraph("No installments in this period.", STYLES["body"]))

        flowables.append(CondPageBreak(40 * mm))
        flowables.append(Paragraph("Repayment history", STYLES["subheading"]))
        if loan["repayments"]:
            flowables.append(self.repayments_table(loan))
        else:
            flowables.append(Paragraph("No repayments in this period.", STYLES["body"]))
        return flowables

    def terms_table(self, loan: Mapping[str, Any]) -> Flowable:
        currency = loan["currency"]
        terms = loan.get("terms") or {}
        pairs = [
            ("Type", loan["loan_type"]),
            ("Status", STATUS_LABELS.get(loan["status"] or "", loan["status"] or "not computed")),
            ("Principal", self.money(loan["principal"], currency)),
            ("Annual rate", self.rate_text(loan["annual_rate"], terms.get("annual_rate"))),
            ("Start date", self.date(loan["start_date"])),
            ("Installments", str(terms.get("installments") or "")),
            ("End date", self.date(terms.get("end_date"))),
            ("Frequency", terms.get("frequency") or ""),
            ("Method", terms.get("method") or ""),
            ("Day count", terms.get("day_count") or ""),
            ("Outstanding principal", self.money(loan["outstanding_principal"], currency)),
            ("Accrued interest", self.money(loan["accrued_interest"], currency)),
            ("Principal paid", self.money(loan["principal_paid"], currency)),
            ("Interest paid", self.money(loan["interest_paid"], currency)),
            ("Arrears", self.money(loan["arrears"], currency)),
            ("Payoff amount", self.money(loan["payoff_amount"], currency)),
        ]

        for change in loan.get("term_changes") or []:
            parts = [f"{key.replace('_', ' ')} {value}" for key, value in change.items() if key != "effective_date" and value is not None]
            pairs.append((f"Change from {self.date(change.get('effective_date'))}", ", ".join(parts)))
        if loan.get("paid_off_on"):
            pairs.append(("Paid off on", self.date(loan["paid_off_on"])))
        if loan.get("closed_on"):
            pairs.append(("Closed on", self.date(loan["closed_on"])))

        # Two label/value pairs per row keep the terms on a third of a page.
        rows = []
        for index in range(0, len(pairs), 2):
            row: list[Any] = []
            for label, value in pairs[index : index + 2]:
                row += [label, Paragraph(paragraph_markup(str(value)), STYLES["cell"])]
            rows.append(row + [""] * (4 - len(row)))

        table = LongTable(rows, colWidths=_share(self.width, [0.2, 0.3, 0.2, 0.3]))
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), REGULAR, 8),
                    ("FONT", (0, 0), (0, -1), BOLD, 8),
                    ("FONT", (2, 0), (2, -1), BOLD, 8),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID_COLOR),
                ]
            )
        )
        return KeepTogether([table])

    def schedule_table(self, loan: Mapping[str, Any]) -> LongTable:
        currency = loan["currency"]
        header = ["No.", "Due date", "Amount due", "Paid", "Remaining", "Status", "Planned balance"]
        rows: list[list[str]] = [header]
        overdue_rows = []
        for item in loan["installments"]:
            status = STATUS_LABELS.get(item["status"], item["status"])
            if item.get("days_past_due"):
                status += f" ({item['days_past_due']} d)"
            if item["status"] == "overdue":
                overdue_rows.append(len(rows))
            rows.append(
                [
                    str(item["number"]),
                    self.date(item["due_date"]),
                    self.money(item["amount_due"], currency),
                    self.money(item["paid"], currency),
                    self.money(item["remaining"], currency),
                    status,
                    self.money(item.get("planned_balance"), currency),
                ]
            )
        widths = _share(self.width, [0.07, 0.15, 0.15, 0.15, 0.15, 0.16, 0.17])
        table = _table(rows, widths, numeric_from=2, numeric_to=4, extra=[("ALIGN", (6, 1), (6, -1), "RIGHT")], single_line=True)
        table.setStyle(TableStyle([("TEXTCOLOR", (0, row), (-1, row), OVERDUE_COLOR) for row in overdue_rows]))
        return table

    def repayments_table(self, loan: Mapping[str, Any]) -> LongTable:
        currency = loan["currency"]
        # The principal includes the prepayment, so principal plus interest is the amount.
        header = ["Date", "Amount", "Method", "Principal", "Interest", "Prepaid", "Balance after"]
        rows: list[list[str]] = [header]
        reversed_rows = []
        for item in loan["repayments"]:
            method = item["method"]
            if item["reversed"]:
                method += " (reversed)"
                reversed_rows.append(len(rows))
            rows.append(
                [
                    self.date(item["paid_on"]),
                    self.money(item["amount"], currency),
                    method,
                    self.money(item["principal"], currency),
                    self.money(item["interest"], currency),
                    self.money(item["prepayment"], currency),
                    self.money(item["balance_after"], currency),
                ]
            )
        widths = _share(self.width, [0.13, 0.15, 0.18, 0.14, 0.13, 0.12, 0.15])
        table = _table(rows, widths, numeric_from=3, extra=[("ALIGN", (1, 1), (1, -1), "RIGHT")], single_line=True)
        if reversed_rows:
            table.setStyle(TableStyle([("TEXTCOLOR", (0, row), (-1, row), colors.grey) for row in reversed_rows]))
        return table


def _share(width: float, fractions: Sequence[float]) -> list[float]:
    return [width * fraction for fraction in fractions]


def _table(
    rows: list[list[Any]],
    widths: list[float],
    numeric_from: int,
    numeric_to: int = -1,
    extra: Sequence[tuple[Any, ...]] = (),
    single_line: bool = False,
) -> LongTable:
    """Build a table whose header row repeats on every page and whose amount columns align right.

    `single_line` fixes every row's height, for tables of plain one-line strings.
    reportlab then measures no cell, and splitting the table across pages costs
    time proportional to the rows left instead of measuring them again.
    """
    row_heights = [SINGLE_LINE_ROW_HEIGHT] * len(rows) if single_line else None
    table = LongTable(rows, colWidths=widths, rowHeights=row_heights, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), REGULAR, 8),
                ("FONT", (0, 0), (-1, 0), BOLD, 8),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID_COLOR),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (numeric_from, 0), (numeric_to, -1), "RIGHT"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                *extra,
                *_cjk_cell_fonts(rows),
            ]
        )
    )
    return table


def _cjk_cell_fonts(rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Return FONT commands that switch body cells DejaVu Sans cannot draw, such as "￥1,250,000" in ja_JP, to the CJK font."""
    commands: list[tuple[Any, ...]] = []
    for row_index, row in enumerate(rows[1:], start=1):
        for column_index, cell in enumerate(row):
            if not isinstance(cell, str):
                continue
            font_name = plain_text_font(cell)
            if font_name != REGULAR:
                commands.append(("FONT", (column_index, row_index), (column_index, row_index), font_name, 8))
    return commands


def _balance_series(loan: Mapping[str, Any]) -> tuple[list[tuple[dt.date, Decimal]], list[tuple[dt.date, Decimal]]]:
    """Return the actual balance (start, after each payment, today) and the planned balance per due date."""
    actual: list[tuple[dt.date, Decimal]] = [(dt.date.fromisoformat(loan["start_date"]), Decimal(loan["principal"]))]
    for item in loan["repayments"]:
        if not item["reversed"] and item.get("balance_after") is not None:
            actual.append((dt.date.fromisoformat(item["paid_on"]), Decimal(item["balance_after"])))
    if loan.get("as_of") and loan.get("outstanding_principal") is not None:
        actual.append((dt.date.fromisoformat(loan["as_of"]), Decimal(loan["outstanding_principal"])))
    actual.sort(key=lambda point: point[0])
    planned = [
        (dt.date.fromisoformat(item["due_date"]), Decimal(item["planned_balance"]))
        for item in loan["installments"]
        if item.get("planned_balance") is not None
    ]
    return actual, planned
