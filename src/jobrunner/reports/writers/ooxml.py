"""The fixed parts of an XLSX package (ECMA-376, SpreadsheetML) that the XLSX writer puts
around the rows PostgreSQL formats: content types, relationships, the workbook, the
styles, and each worksheet's head (frozen header row, column widths) and tail.

Cell styles (``s=`` in a cell, the index into ``cellXfs``): 0 general, 1 bold (the
header), 2 money ``#,##0.00``, 3 date ``yyyy-mm-dd``, 4 date-time
``yyyy-mm-dd hh:mm:ss.000``. Text is written as inline strings (``t="inlineStr"``):
never a formula, whatever it starts with."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

STYLE_HEADER, STYLE_MONEY, STYLE_DATE, STYLE_TIMESTAMP = 1, 2, 3, 4
NUMBER_FORMATS = ((164, "#,##0.00"), (165, "yyyy-mm-dd"), (166, "yyyy-mm-dd hh:mm:ss.000"))

STYLES = (
    HEAD + f'<styleSheet xmlns="{MAIN}">'
    f'<numFmts count="{len(NUMBER_FORMATS)}">'
    + "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>' for i, code in NUMBER_FORMATS)
    + "</numFmts>"
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    + "".join(
        f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        for i, _ in NUMBER_FORMATS
    )
    + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

ROOT_RELS = (
    HEAD + f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def content_types(sheets: int) -> str:
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{sheet_type}"/>' for n in range(1, sheets + 1)
    )
    return (
        HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>"
    )


def workbook(sheet_names: Sequence[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{n}" r:id="rId{n}"/>' for n, name in enumerate(sheet_names, 1)
    )
    return (
        HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>'
    )


def workbook_rels(sheets: int) -> str:
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    )
    return (
        HEAD + f'<Relationships xmlns="{PKG_REL}">{rels}'
        f'<Relationship Id="rId{sheets + 1}" Type="{REL}/styles" Target="styles.xml"/></Relationships>'
    )


def sheet_head(headers: Sequence[str], widths: Sequence[int], *, selected: bool) -> str:
    """Everything before the first data row: the frozen first row, the column widths and
    the header row (bold inline strings)."""
    cols = "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>' for n, w in enumerate(widths, 1))
    header = "".join(
        f'<c r="{column_letter(i)}1" t="inlineStr" s="{STYLE_HEADER}"><is><t>{escape(h)}</t></is></c>'
        for i, h in enumerate(headers)
    )
    tab = ' tabSelected="1"' if selected else ""
    return (
        HEAD + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetViews>'
        f'<sheetView{tab} workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData><row r="1">{header}</row>\n'
    )


SHEET_TAIL = "</sheetData></worksheet>"
