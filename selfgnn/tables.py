"""Tables written by the scripts: Markdown rows and CSV files.

`markdown(header, rows)` gives the lines of a Markdown table, `row(cells)` one of
its rows, `write_csv(path, rows)` writes dicts as a CSV file and `write_result` a
result as `<stem>.json` beside its table `<stem>.md`. Cells are written
as given (format numbers before); None is a blank cell, written `| |`, while an
empty string keeps the spaces around it, `|  |`.
"""
import csv
import json
import os


def row(cells):
    """One Markdown row: '| a | b |'; a None cell is blank ('| |')."""
    return "|" + "|".join(" " if c is None else f" {c} " for c in cells) + "|"


def markdown(header, rows):
    """The lines of a Markdown table: the header row, the '|---|---|' line, the rows."""
    return [row(header), "|" + "---|" * len(header)] + [row(cells) for cells in rows]


def write_csv(path, rows):
    """`rows` (dicts) as CSV with '\\n' line ends, the columns in first-seen order; a row
    without one of the columns leaves its cell empty."""
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_result(folder, stem, result, text):
    """`<folder>/<stem>.json` (the result, indented) and `<folder>/<stem>.md` (text)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{stem}.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(folder, f"{stem}.md"), "w", encoding="utf-8") as f:
        f.write(text)
