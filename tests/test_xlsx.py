"""The streaming xlsx writer: every cell type reads back as written (openpyxl reads it),
text is never a formula, sheets follow each other, and memory stays flat."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime

import openpyxl

from monitor.xlsx import XlsxWriter, column_letters, excel_serial


def test_column_letters_and_serials() -> None:
    assert [column_letters(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]
    assert excel_serial(date(1900, 3, 1)) == 61.0  # after Excel's phantom 1900-02-29
    assert excel_serial(datetime(2026, 3, 1, 12, tzinfo=UTC)) == excel_serial(date(2026, 3, 1)) + 0.5


def test_cells_read_back_with_their_types() -> None:
    buf = io.BytesIO()
    wide = [f"c{i}" for i in range(30)]  # past column Z
    with XlsxWriter(buf) as book:
        with book.sheet("mentions") as add:
            add(["text", "n", "x", "ok", "day", "when", "none", "inf"])
            add(['=HYPERLINK("http://evil")', 3, 2.5, True, date(2026, 3, 1),
                 datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC), None, float("inf")])
            add(["<b>&amp; 好</b> ]]>", -1, 0.1, False, None, None, None, None])
        with book.sheet("second") as add:
            add(wide)
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    assert wb.sheetnames == ["mentions", "second"]
    ws = wb["mentions"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][:6] == ('=HYPERLINK("http://evil")', 3, 2.5, True, datetime(2026, 3, 1),
                           datetime(2026, 3, 1, 8, 30, 15))
    assert rows[1][6] is None and rows[1][7] == "inf"
    assert ws["A2"].data_type == "s"  # text, never a formula
    assert rows[2][0] == "<b>&amp; 好</b> ]]>" and rows[2][3] is False
    assert ws["E2"].number_format == "yyyy\\-mm\\-dd"
    assert next(iter(wb["second"].iter_rows(values_only=True))) == tuple(wide)
    names = zipfile.ZipFile(io.BytesIO(buf.getvalue())).namelist()
    assert "xl/sharedStrings.xml" not in names and "[Content_Types].xml" in names
