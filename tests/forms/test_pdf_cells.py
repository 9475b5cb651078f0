"""The claims table writes its cell lines as reportlab's own text calls would, byte for byte."""
from __future__ import annotations

import io

from reportlab.pdfgen.canvas import Canvas

from claimback.forms import pdf

LEFTS = [7.5, 120.25, 301.0]
CELLS = [
    ["CLM-0001", ""],  # an empty line writes no string
    ["A(1)\\B", "CO-16, N290 / M51"],  # PDF's string delimiters and its escape character
    ["Caf\u00e9 Sant\u00e9", "tab\there", "\u20ac12.00"],  # not ASCII, not printable: reportlab's path
]


def _text_object(bottomup: int = 1):
    canvas = Canvas(io.BytesIO(), bottomup=bottomup)
    writing = canvas.beginText()
    writing.setFont("Helvetica", 7.5, 9.5)
    return writing


def test_cell_lines_are_the_operators_set_text_origin_and_text_line_write():
    for bottomup in (1, 0):
        written, reference = _text_object(bottomup), _text_object(bottomup)
        pdf._write_cells(written, LEFTS, 586.5, CELLS)
        for x, lines in zip(LEFTS, CELLS):
            reference.setTextOrigin(x, 586.5)
            for line in lines:
                reference.textLine(line)
        assert written.getCode() == reference.getCode()


def test_cell_text_is_escaped_and_never_read_as_operators():
    written = _text_object()
    pdf._write_cells(written, [0.0], 10.0, [["x) Tj (y", "a\\"]])
    code = written.getCode()
    assert "(x\\) Tj \\(y) Tj T*" in code and "(a\\\\) Tj T*" in code
