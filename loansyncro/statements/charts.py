"""Statement charts drawn with reportlab.graphics, so they are vector graphics inside the PDF.

Series arrive as (date, Decimal) points. Charts plot floats because
reportlab's axes need them; a chart only shows shapes, and every exact
amount is printed in the tables beside it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from loansyncro.statements.fonts import REGULAR

# A chart is at most about 480 points wide, so more points than this only grow the file.
MAX_LINE_POINTS: Final = 600
# Above this many months, payments are summed per year so that bars stay readable.
MAX_MONTH_BARS: Final = 36

ACTUAL_COLOR: Final = colors.HexColor("#1f6fb2")
PLANNED_COLOR: Final = colors.HexColor("#9aa5b1")
PRINCIPAL_COLOR: Final = colors.HexColor("#2e8b57")
INTEREST_COLOR: Final = colors.HexColor("#e07b39")

Point = tuple[dt.date, Decimal]


def thin_out(points: Sequence[Point], limit: int = MAX_LINE_POINTS) -> list[Point]:
    """Keep at most `limit` evenly spaced points, always including the first and the last."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(index * step)] for index in range(limit)]


def compact_amount(value: float) -> str:
    """Label an axis tick compactly: 1.2M, 350k, 75."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 1_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:.0f}"


def _month_label(ordinal: float) -> str:
    return dt.date.fromordinal(int(ordinal)).strftime("%Y-%m")


def _legend(width: float, height: float, items: list[tuple[colors.Color, str]]) -> Legend:
    """Place the legend in one row at the top right, level with the chart's title."""
    legend = Legend()
    legend.deltax = 85
    legend.x, legend.y = width - legend.deltax * len(items), height - 4
    legend.fontName = REGULAR
    legend.fontSize = 7
    legend.columnMaximum = 1
    legend.dx = legend.dy = 7
    legend.colorNamePairs = items
    return legend


def _empty(width: float, height: float, title: str, message: str) -> Drawing:
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 10, title, fontName=REGULAR, fontSize=9))
    drawing.add(String(width / 2, height / 2, message, fontName=REGULAR, fontSize=8, textAnchor="middle", fillColor=colors.grey))
    return drawing


def balance_chart(
    title: str, actual: Sequence[Point], planned: Sequence[Point], width: float = 480, height: float = 190
) -> Drawing:
    """Draw the outstanding principal over time: actual (after each payment) against the original plan."""
    series = [(ACTUAL_COLOR, "Actual balance", thin_out(actual)), (PLANNED_COLOR, "Planned balance", thin_out(planned))]
    series = [entry for entry in series if entry[2]]
    if not series:
        return _empty(width, height, title, "No balance data in this period")

    drawing = Drawing(width, height)
    drawing.add(String(0, height - 10, title, fontName=REGULAR, fontSize=9))
    plot = LinePlot()
    plot.x, plot.y = 45, 30
    plot.width, plot.height = width - 60, height - 65
    plot.data = [[(day.toordinal(), float(amount)) for day, amount in points] for _, _, points in series]
    for index, (color, _, _) in enumerate(series):
        plot.lines[index].strokeColor = color
        plot.lines[index].strokeWidth = 1.5 if index == 0 else 1
    if len(series) == 2:
        plot.lines[1].strokeDashArray = (3, 2)
    plot.xValueAxis.labelTextFormat = _month_label
    plot.xValueAxis.labels.fontName = REGULAR
    plot.xValueAxis.labels.fontSize = 7
    plot.xValueAxis.maximumTicks = 8
    plot.yValueAxis.labelTextFormat = compact_amount
    plot.yValueAxis.labels.fontName = REGULAR
    plot.yValueAxis.labels.fontSize = 7
    plot.yValueAxis.valueMin = 0
    plot.yValueAxis.visibleGrid = True
    plot.yValueAxis.gridStrokeColor = colors.HexColor("#e5e8eb")
    drawing.add(plot)
    drawing.add(_legend(width, height, [(color, label) for color, label, _ in series]))
    return drawing


def paid_by_period(repayments: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[Decimal], list[Decimal]]:
    """Sum principal and interest of non-reversed repayments per month, or per year for long spans.

    A repayment's principal already includes its prepayment, so principal plus
    interest is the amount paid.
    """
    principal: dict[str, Decimal] = defaultdict(Decimal)
    interest: dict[str, Decimal] = defaultdict(Decimal)
    for repayment in repayments:
        if repayment.get("reversed") or repayment.get("principal") is None:
            continue
        month = str(repayment["paid_on"])[:7]
        principal[month] += Decimal(repayment["principal"])
        interest[month] += Decimal(repayment["interest"] or 0)
    months = sorted(principal)
    if len(months) > MAX_MONTH_BARS:
        yearly_principal: dict[str, Decimal] = defaultdict(Decimal)
        yearly_interest: dict[str, Decimal] = defaultdict(Decimal)
        for month in months:
            yearly_principal[month[:4]] += principal[month]
            yearly_interest[month[:4]] += interest[month]
        years = sorted(yearly_principal)
        return years, [yearly_principal[year] for year in years], [yearly_interest[year] for year in years]
    return months, [principal[month] for month in months], [interest[month] for month in months]


def principal_interest_chart(
    title: str,
    periods: Sequence[str],
    principal: Sequence[Decimal],
    interest: Sequence[Decimal],
    width: float = 480,
    height: float = 190,
    value_label: Callable[[float], str] = compact_amount,
) -> Drawing:
    """Draw principal and interest paid per period as stacked bars."""
    if not periods:
        return _empty(width, height, title, "No repayments in this period")

    drawing = Drawing(width, height)
    drawing.add(String(0, height - 10, title, fontName=REGULAR, fontSize=9))
    chart = VerticalBarChart()
    chart.x, chart.y = 45, 30
    chart.width, chart.height = width - 60, height - 65
    chart.data = [[float(value) for value in principal], [float(value) for value in interest]]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = list(periods)
    chart.categoryAxis.labels.fontName = REGULAR
    chart.categoryAxis.labels.fontSize = 6
    if len(periods) > 12:
        chart.categoryAxis.labels.angle = 45
        chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = value_label
    chart.valueAxis.labels.fontName = REGULAR
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#e5e8eb")
    chart.bars[0].fillColor = PRINCIPAL_COLOR
    chart.bars[1].fillColor = INTEREST_COLOR
    chart.bars.strokeWidth = 0
    drawing.add(chart)
    drawing.add(_legend(width, height, [(PRINCIPAL_COLOR, "Principal"), (INTEREST_COLOR, "Interest")]))
    return drawing
