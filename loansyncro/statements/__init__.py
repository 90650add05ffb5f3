"""Statements and exports: PDF (reportlab), CSV and JSON, rendered from the ledger's statement data.

Pure rendering without I/O. The ledger's `statement_data` RPC returns the
data, the gateway's exports routes call these functions, and
docs/exports.md describes the formats.
"""

from loansyncro.statements.csv_export import loans_csv, repayments_csv, schedule_csv
from loansyncro.statements.json_export import history_json
from loansyncro.statements.pdf import StatementOptions, render_statement_pdf

__all__ = ["StatementOptions", "history_json", "loans_csv", "render_statement_pdf", "repayments_csv", "schedule_csv"]
