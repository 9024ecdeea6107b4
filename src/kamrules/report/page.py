"""One self-contained HTML page: inline SVG, inline CSS, no script, no font file, no link out.

Prints on A4 (``@page``), each chart kept on one page. Everything on the page is derived
from its inputs in a fixed order, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #222; margin: 0 auto;
       max-width: 186mm; padding: 8px; }
h1 { font-size: 17pt; margin: 0 0 4px; } h2 { font-size: 13.5pt; margin: 18px 0 6px; border-bottom: 1px solid #ccc; }
h3 { font-size: 11pt; margin: 12px 0 4px; }
p.meta, p.note { color: #555; font-size: 9pt; margin: 2px 0 8px; }
figure { margin: 6px 0 10px; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 9pt; color: #444; margin-top: 2px; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 4px 0 10px; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 2px 5px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.accounts { font-size: 7.5pt; }
tr { break-inside: avoid; }
code { font-size: 8.5pt; }
@media print { section { break-before: auto; } h2 { break-after: avoid; } }
"""


def page(title: str, meta: str, sections: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{escape(title)}</h1><p class="meta">{escape(meta)}</p></header>\n'
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def section(anchor: str, heading: str, *parts: str) -> str:
    return f'<section id="{anchor}">\n<h2>{escape(heading)}</h2>\n' + "\n".join(parts) + "\n</section>"


def figure(svg: str, caption: str) -> str:
    return f"<figure>\n{svg}\n<figcaption>{escape(caption)}</figcaption>\n</figure>"


def para(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{escape(text)}</p>'


def heading(text: str) -> str:
    return f"<h3>{escape(text)}</h3>"


def table(head: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = (), cls: str = "") -> str:
    right = set(numeric)
    attr = f' class="{cls}"' if cls else ""

    def cell(tag: str, i: int, value: object) -> str:
        kind = ' class="n"' if i in right else ""
        return f"<{tag}{kind}>{escape('' if value is None else str(value))}</{tag}>"

    lines = [f"<table{attr}>", "<thead><tr>" + "".join(cell("th", i, h) for i, h in enumerate(head)) + "</tr></thead>"]
    lines.append("<tbody>")
    lines += ["<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows]
    lines.append("</tbody></table>")
    return "\n".join(lines)
