"""A report's table as a CSV download that a spreadsheet opens correctly.

UTF-8 with a byte order mark (Excel otherwise reads Cyrillic as mojibake), CRLF line ends (RFC
4180), the same values as the JSON (decimal strings, ISO dates, empty for null), and text cells
that a spreadsheet would run as a formula ("=", "+", "-", "@" first) made inert with a leading
apostrophe: a product called "=HYPERLINK(...)" must not become a link in the owner's Excel.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response
from marshmallow import Schema, fields

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_DOC = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string", "description": "With `format=csv`: the table as CSV."}}},
        "headers": {
            "Content-Disposition": {
                "description": 'With `format=csv`: `attachment; filename="<report>_<table>_<from>_<to>.csv"`.',
                "schema": {"type": "string"},
            }
        },
    }
}


def _cell(value: Any, is_text: bool) -> str:
    if value is None:
        return ""
    text = str(value)
    if is_text and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def table_columns(row_schema: Schema) -> list[tuple[str, bool]]:
    """(column name, is free text) in the schema's order."""
    return [(field.data_key or name, isinstance(field, fields.String)) for name, field in row_schema.fields.items()]


def csv_download(
    report_schema: Schema, report: dict[str, Any], *, table: str, filename: str, footer: str | None = None
) -> Response:
    """The `table` list of `report` (dumped as the JSON is) as a CSV file; `footer` names a totals object
    that becomes a last row labelled "total" in the first column."""
    dumped = report_schema.dump(report)
    row_schema = report_schema.fields[table].inner.schema
    columns = table_columns(row_schema)
    rows = list(dumped[table])
    if footer is not None:
        rows.append({columns[0][0]: "total", **dumped[footer]})
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _ in columns])
    writer.writerows([_cell(row.get(name), is_text) for name, is_text in columns] for row in rows)
    response = Response(buffer.getvalue().encode("utf-8"), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response
