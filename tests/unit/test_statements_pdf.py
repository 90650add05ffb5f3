"""PDF statements: text, fonts, metadata, page size, repeated headers and a rendered page."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from reportlab.lib.pagesizes import A4, LETTER

from loansyncro.statements import StatementOptions, render_statement_pdf
from loansyncro.statements.charts import thin_out
from loansyncro.statements.fonts import CJK, paragraph_markup, plain_text_font, register_fonts
from loansyncro.statements.formatting import page_size_for, parse_locale
from loansyncro.statements.samples import sample_loan, sample_statement

GENERATED_AT = dt.datetime(2026, 12, 4, 21, 30, tzinfo=dt.UTC)


def world_statement() -> dict:
    """One loan in each currency whose sign needs more than Latin-1, with non-ASCII lender names."""
    loans = [
        sample_loan(30, name="Hipoteca", lender="José Muñoz Crédito", currency="EUR"),
        sample_loan(4, name="Flat in Leeds", lender="Barclays", currency="GBP", principal=Decimal("180000.00")),
        sample_loan(4, name="Tokyo flat", lender="Mizuho", currency="JPY", principal=Decimal("3000000")),
        sample_loan(4, name="Авто кредит", lender="Сбербанк", currency="INR", principal=Decimal("800000.00")),
        sample_loan(4, name="Car", lender="Hana Bank", currency="KRW", principal=Decimal("20000000")),
        sample_loan(4, name="Ev kredisi", lender="Ziraat Bankası", currency="TRY", principal=Decimal("90000.00")),
    ]
    return sample_statement(loans)


def read_pdf(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def all_text(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def world_pdf() -> bytes:
    return render_statement_pdf(world_statement(), StatementOptions("en_US", GENERATED_AT))


def test_pdf_shows_totals_per_currency(world_pdf):
    text = all_text(read_pdf(world_pdf))
    statement = world_statement()
    euro = next(entry for entry in statement["totals"] if entry["currency"] == "EUR")

    assert "Totals per currency" in text
    assert "€250,000.00" in text
    assert f"€{Decimal(euro['outstanding_principal']):,.2f}" in text
    assert f"€{Decimal(euro['interest_paid']):,.2f}" in text
    assert "¥3,000,000" in text


def test_pdf_prints_currency_signs(world_pdf):
    text = all_text(read_pdf(world_pdf))
    for sign in ("€", "£", "¥", "₹", "₩"):
        assert sign in text, f"{sign} missing from the statement text"


def test_pdf_prints_turkish_lira_sign_for_turkish_locale():
    statement = sample_statement([sample_loan(3, name="Ev kredisi", lender="Ziraat Bankası", currency="TRY")])
    text = all_text(read_pdf(render_statement_pdf(statement, StatementOptions("tr_TR", GENERATED_AT))))
    assert "₺250.000,00" in text


def test_pdf_prints_non_ascii_names(world_pdf):
    text = all_text(read_pdf(world_pdf))
    for name in ("José Muñoz Crédito", "Авто кредит", "Сбербанк", "Ziraat Bankası"):
        assert name in text


def test_pdf_embeds_its_fonts(world_pdf):
    reader = read_pdf(world_pdf)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for reference in fonts.values():
        font = reference.get_object()
        descendants = font.get("/DescendantFonts")
        descriptor = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
        embedded.append(descriptor is not None and "/FontFile2" in descriptor.get_object())
    assert embedded
    assert all(embedded)


def embedded_font_names(reader: pypdf.PdfReader) -> set[str]:
    """Return the /BaseFont names, without subset prefix, of every embedded font on any page."""
    names = set()
    for page in reader.pages:
        for reference in page["/Resources"]["/Font"].values():
            font = reference.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                names.add(str(font["/BaseFont"]).split("+")[-1])
    return names


def test_pdf_prints_cjk_names_in_embedded_font():
    loans = [
        sample_loan(3, name="住宅ローン", lender="三菱UFJ銀行", currency="JPY", principal=Decimal("30000000")),
        sample_loan(3, name="학자금 대출", lender="三菱UFJ銀行", currency="KRW", principal=Decimal("20000000")),
    ]
    reader = read_pdf(render_statement_pdf(sample_statement(loans), StatementOptions("ja_JP", GENERATED_AT)))
    text = all_text(reader)
    font_names = embedded_font_names(reader)

    assert "三菱UFJ銀行" in text
    assert "住宅ローン" in text
    assert "학자금 대출" in text
    # reportlab appends the face's index in the .ttc collection to the font name.
    assert "WenQuanYiMicroHei-0" in font_names
    assert "DejaVuSans" in font_names


def test_paragraph_markup_wraps_only_cjk_runs():
    register_fonts()

    assert paragraph_markup("Bank & <Co>") == "Bank &amp; &lt;Co&gt;"
    assert paragraph_markup("三菱UFJ銀行") == (
        f'<font name="{CJK}">三菱</font>UFJ<font name="{CJK}">銀行</font>'
    )
    assert paragraph_markup("학자금 대출") == f'<font name="{CJK}">학자금</font> <font name="{CJK}">대출</font>'
    assert paragraph_markup("Сбербанк ₩") == "Сбербанк ₩"


def test_pdf_draws_fullwidth_yen_in_cjk_font():
    # Babel's ja_JP format writes the yen sign as the fullwidth "￥", which DejaVu Sans lacks.
    statement = sample_statement([sample_loan(3, name="Tokyo flat", lender="Mizuho", currency="JPY", principal=Decimal("3000000"))])
    reader = read_pdf(render_statement_pdf(statement, StatementOptions("ja_JP", GENERATED_AT)))
    cover = reader.pages[0]
    cover_fonts = {str(reference.get_object()["/BaseFont"]).split("+")[-1] for reference in cover["/Resources"]["/Font"].values()}

    assert "￥3,000,000" in cover.extract_text()
    assert "WenQuanYiMicroHei-0" in cover_fonts


def test_plain_text_font_needs_full_cjk_coverage():
    register_fonts()

    assert plain_text_font("￥1,250,000") == CJK
    assert plain_text_font("2026年12月4日") == CJK
    assert plain_text_font("€1,250.00") == "DejaVuSans"
    assert plain_text_font("Paid", default="DejaVuSans-Bold") == "DejaVuSans-Bold"
    # Micro Hei has no ₩, so the string keeps DejaVu Sans and 住宅 prints as boxes.
    assert plain_text_font("₩1,000 住宅") == "DejaVuSans"


def test_pdf_metadata(world_pdf):
    metadata = read_pdf(world_pdf).metadata
    as_of = world_statement()["as_of"]
    assert metadata.title == f"Loan statement as of {as_of}"
    assert metadata.author == "LoanSyncro"
    assert metadata.subject == f"Loans, schedules and repayments as of {as_of} (Europe/Madrid)"


def test_pdf_cover_shows_as_of_and_generated_time(world_pdf):
    first_page = read_pdf(world_pdf).pages[0].extract_text()
    assert "As of" in first_page
    assert "Europe/Madrid" in first_page
    # 21:30 UTC is 22:30 in Madrid in December.
    assert "Generated Dec 4, 2026, 10:30:00" in first_page
    assert "PM (Europe/Madrid)" in first_page


def test_pdf_numbers_every_page(world_pdf):
    reader = read_pdf(world_pdf)
    # One cover and one section per loan at least.
    assert len(reader.pages) >= 7
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number}" in page.extract_text()


@pytest.mark.parametrize(
    ("locale", "size"),
    [("en_US", LETTER), ("en_CA", LETTER), ("es_MX", LETTER), ("en", LETTER), ("de_DE", A4), ("en_GB", A4), ("fr", A4), ("ja_JP", A4)],
)
def test_page_size_by_locale(locale, size):
    assert page_size_for(parse_locale(locale)) == size


def test_pdf_page_size_follows_locale():
    statement = sample_statement([sample_loan(2)])
    letter = read_pdf(render_statement_pdf(statement, StatementOptions("en_US", GENERATED_AT))).pages[0].mediabox
    a4 = read_pdf(render_statement_pdf(statement, StatementOptions("de_DE", GENERATED_AT))).pages[0].mediabox
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)


def test_pdf_amounts_follow_locale():
    statement = sample_statement([sample_loan(2)])
    text = all_text(read_pdf(render_statement_pdf(statement, StatementOptions("de_DE", GENERATED_AT))))
    assert "250.000,00 €" in text.replace("\xa0", " ")


def test_unknown_locale_falls_back_to_english():
    statement = sample_statement([sample_loan(2)])
    text = all_text(read_pdf(render_statement_pdf(statement, StatementOptions("xx_YY", GENERATED_AT))))
    assert "€250,000.00" in text


def test_pdf_shows_rate_at_creation_after_change():
    loan = sample_loan(2)
    loan["annual_rate"] = "3.9"
    loan["term_changes"] = [{"effective_date": "2000-02-01", "annual_rate": "3.9", "remaining_installments": None, "end_date": None}]
    text = all_text(read_pdf(render_statement_pdf(sample_statement([loan]), StatementOptions("en_US", GENERATED_AT))))
    assert "3.9 % (was 4.5 % at creation)" in text
    assert "Change from Feb 1, 2000" in text


def test_long_history_repeats_table_header():
    statement = sample_statement([sample_loan(400)])
    reader = read_pdf(render_statement_pdf(statement, StatementOptions("en_GB", GENERATED_AT)))
    history_pages = [page.extract_text() for page in reader.pages if "bank_transfer" in page.extract_text()]
    assert len(history_pages) >= 5
    for text in history_pages:
        assert "Balance after" in text


def test_ten_thousand_repayments_render_in_bounded_memory():
    """Render 10,000 repayments in a fresh process, so its peak memory belongs to this render alone."""
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run(
        [sys.executable, "-m", "bench.export", "--child", "10000"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    growth_mib = (result["rss_peak_kib"] - result["rss_before_kib"]) / 1024
    assert result["pdf_pages"] > 200
    # About 41 MiB were measured (docs/benchmarks.md); the bound leaves room for other platforms.
    assert growth_mib < 256, f"rendering 10,000 repayments grew the process by {growth_mib:.0f} MiB"


def test_empty_statement_says_no_loans():
    statement = sample_statement([])
    reader = read_pdf(render_statement_pdf(statement, StatementOptions("en_US", GENERATED_AT)))
    assert len(reader.pages) == 1
    assert "No loans match these filters." in reader.pages[0].extract_text()


def test_thin_out_keeps_first_and_last():
    points = [(dt.date(2020, 1, 1) + dt.timedelta(days=day), Decimal(day)) for day in range(5000)]
    thinned = thin_out(points, 100)
    assert len(thinned) == 100
    assert thinned[0] == points[0]
    assert thinned[-1] == points[-1]


def test_rendered_page_is_a_valid_image(world_pdf, tmp_path: Path):
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm not found: install poppler-utils (apt-get install -y poppler-utils) to render pages")
    source = tmp_path / "statement.pdf"
    source.write_bytes(world_pdf)
    subprocess.run([pdftoppm, "-r", "50", "-png", "-f", "1", "-l", "2", str(source), str(tmp_path / "page")], check=True, timeout=60)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == 2
    for image in images:
        data = image.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 5_000
