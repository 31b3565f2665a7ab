#!/usr/bin/env python3
"""Writes the small workbooks tests/main/spreadsheet.rs reads, tests/data/members.ods and
tests/data/members.xls, the same member list as the test's .xlsx one, and the list the
import bench reads as .xls, benches/data/list-60k.xls (the bench writes the same rows as
.xlsx, .ods and CSV itself), written by real spreadsheet libraries rather than by hand.

Made with Python 3 and, pinned:
    xlwt==1.3.0   (.xls, BIFF8, as Excel 97-2003 writes it)
    odfpy==1.4.1  (.ods, OpenDocument 1.2, as LibreOffice writes it)

    python3 -m venv /tmp/sheets && /tmp/sheets/bin/pip install xlwt==1.3.0 odfpy==1.4.1
    /tmp/sheets/bin/python scripts/make_sheets.py

The files are committed; the tests do not run this script.
"""

import os
import sys

import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")

# (row, column, value): a float is stored as a number, a str as text. Row 3 is blank.
MEMBERS = [
    (0, 0, "手機號碼"), (0, 1, "標籤"),
    (1, 0, 66812345678.0), (1, 1, "VIP, 回頭客"),
    # Stored as a number, shown in scientific notation (.xls) : digits kept.
    (2, 0, 66812345679.0), (2, 1, "VIP"), (2, 2, "call after 6pm"),
    (4, 0, "+852 9123 4567"), (4, 1, "VIPP"),
    # Typed as text in scientific notation: its digits are lost, reported.
    (5, 0, "8.52912E+10"), (5, 1, "VIP"),
    (6, 0, 812345670.0),
]
OTHER = [(0, 0, "phone"), (1, 0, 85291234568.0)]


def write_xls(path):
    book = xlwt.Workbook(encoding="utf-8")
    scientific = xlwt.easyxf(num_format_str="0.00E+00")
    for name, cells in (("Members", MEMBERS), ("會員", OTHER)):
        sheet = book.add_sheet(name)
        for row, col, value in cells:
            if (row, col) == (2, 0):
                sheet.write(row, col, value, scientific)
            else:
                sheet.write(row, col, value)
    book.save(path)


def write_ods(path):
    doc = OpenDocumentSpreadsheet()
    for name, cells in (("Members", MEMBERS), ("會員", OTHER)):
        table = Table(name=name)
        rows = max(r for r, _, _ in cells) + 1
        for r in range(rows):
            row = TableRow()
            in_row = sorted((c, v) for rr, c, v in cells if rr == r)
            at = 0
            for col, value in in_row:
                if col > at:
                    row.addElement(TableCell(numbercolumnsrepeated=col - at))
                if isinstance(value, float):
                    cell = TableCell(valuetype="float", value=repr(value))
                    cell.addElement(P(text="%d" % value))
                else:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=value))
                row.addElement(cell)
                at = col + 1
            table.addElement(row)
        doc.spreadsheet.addElement(table)
    doc.save(path)


def bench_rows(rows, first_phone=66_800_000_000, seed=0x9E3779B97F4A7C15, pool=50):
    """The rows of benches/import.rs's `file()`: (phone, "tag-a,tag-b,tag-c"), from the
    same xorshift generator."""
    mask = (1 << 64) - 1
    x = seed

    def draw():
        nonlocal x
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        return x

    names = ["tag-%02d" % i for i in range(pool)]
    for i in range(rows):
        a = draw() % pool
        b = (a + 1 + draw() % (pool - 2)) % pool
        c = (b + 1) % pool
        if c == a:
            c = (c + 1) % pool
        yield first_phone + i, ",".join((names[a], names[b], names[c]))


def write_bench_xls(path, rows=60_000):
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    sheet.write(0, 0, "phone")
    sheet.write(0, 1, "tags")
    for row, (phone, tags) in enumerate(bench_rows(rows), start=1):
        sheet.write(row, 0, float(phone))
        sheet.write(row, 1, tags)
    book.save(path)


def main():
    write_xls(os.path.join(DATA, "members.xls"))
    bench = os.path.join(HERE, "..", "benches", "data")
    os.makedirs(bench, exist_ok=True)
    write_bench_xls(os.path.join(bench, "list-60k.xls"))
    write_ods(os.path.join(DATA, "members.ods"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
