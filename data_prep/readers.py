"""Readers that turn raw interaction logs into one pandas DataFrame.

Every reader returns the columns, rows in file order:

* ``user`` (str): raw user id, stripped of surrounding whitespace,
* ``item`` (str): raw item id, stripped likewise,
* ``time`` (int64): unix time in seconds (UTC),
* ``line`` (int64): 1-based physical line number of the row in the file
  (header and blank lines count).

Formats (``READERS`` key -> reader):

* ``amazon``: Amazon ratings CSV ``user,item,rating,timestamp`` (no header),
* ``gowalla``: Gowalla check-ins ``user<TAB>ISO time<TAB>lat<TAB>lon<TAB>location``,
* ``ml10m``: MovieLens ``ratings.dat`` ``UserID::MovieID::Rating::Timestamp``,
* ``yelp``: Yelp review JSON lines with ``user_id``, ``business_id``, ``date``,
* ``recbole``: RecBole atomic ``.inter`` file (TAB-separated, typed header),
* ``csv``: any delimited file with named or positional columns.

Files are UTF-8 (a leading BOM is ignored) with LF or CRLF line endings;
blank lines are skipped.  Fields are split on the separator literally, quotes
are never interpreted.  Every problem with an input file raises
:class:`DataPrepError` with a ``"{path}:{line}: {problem}"`` message naming
the first bad line (``"{path}: {problem}"`` when no single line is at fault).
"""
import itertools
import json
import operator
import types

import numpy as np
import pandas as pd

COLUMNS = ("user", "item", "time", "line")
MAX_UNIX = 253402300799  # 9999-12-31 23:59:59 UTC
_EPOCH = pd.Timestamp(0, tz="UTC")
_SEP_NAMES = types.MappingProxyType(
    {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe", " ": "space"})
_CHUNK = 1 << 20  # lines split at a time, so unused fields do not pile up


class DataPrepError(ValueError):
    """A problem with an input file; the message names the file and line."""


def _fail(path, problem, line=None):
    where = f"{path}" if line is None else f"{path}:{line}"
    raise DataPrepError(f"{where}: {problem}")


def _show(value):
    """repr() of a field value, shortened for error messages."""
    return repr(value if len(value) <= 60 else value[:60] + "...")


def _decode(path, data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        _fail(path, f"not valid UTF-8 ({err.reason})", data[:err.start].count(b"\n") + 1)
    return text[1:] if text.startswith("\ufeff") else text


def _open(path):
    try:
        with open(path, "rb") as f:
            return _decode(path, f.read())
    except FileNotFoundError:
        _fail(path, "file not found")
    except OSError as err:
        _fail(path, f"cannot read file ({err.strerror})")


def _load_lines(path):
    """Non-blank lines of the file as a list, and their physical line numbers.

    Per-line work maps C-implemented ``str`` methods over the list (no
    Python-level loop), several times faster than ``Series.str`` without pyarrow.
    """
    raw = _open(path).replace("\r\n", "\n").split("\n")
    keep = np.fromiter(map(len, raw), np.int64, len(raw)) > 0
    keep &= ~np.fromiter(map(str.isspace, raw), bool, len(raw))
    if not keep.any():
        _fail(path, "no data rows (the file is empty)")
    return list(itertools.compress(raw, keep)), np.flatnonzero(keep) + 1


def _first_line(mask):
    """Line number (index label) of the first True entry of a Series, or None."""
    hits = mask.to_numpy(dtype=bool, na_value=True)
    return int(mask.index[hits.argmax()]) if hits.any() else None


def _split(path, lines, numbers, sep, count, columns, exact=True, note=""):
    """Stripped fields of lines with exactly (``exact``) or at least ``count`` fields.

    Returns one str Series (index = line numbers) per 0-based position in
    ``columns``; position -1 is the last field of each line.
    """
    found = pd.Series(np.fromiter(map(str.count, lines, itertools.repeat(sep)),
                                  np.int64, len(lines)) + 1, index=numbers)
    line = _first_line(found != count if exact else found < count)
    if line is not None:
        need = f"{count}" if exact else f"at least {count}"
        _fail(path, f"expected {need} {_SEP_NAMES.get(sep, repr(sep))}-separated fields{note}, "
                    f"got {found[line]}", line)
    width = int(found.iloc[0])
    if (found == width).all():
        # Every separator becomes a newline: one join, replace and split per chunk.
        picked = [[] for _ in columns]
        for start in range(0, len(lines), _CHUNK):
            flat = "\n".join(lines[start:start + _CHUNK]).replace(sep, "\n").split("\n")
            for out, col in zip(picked, columns):
                out.extend(flat[col % width::width])
    else:
        heads, rest = [], lines
        for _ in range(max(columns) + 1):
            parts = list(map(str.partition, rest, itertools.repeat(sep)))
            heads.append(list(map(operator.itemgetter(0), parts)))
            rest = list(map(operator.itemgetter(2), parts))
        if -1 in columns:
            tails = map(str.rpartition, lines, itertools.repeat(sep))
            heads.append(list(map(operator.itemgetter(2), tails)))
        picked = [heads[col] for col in columns]  # heads[-1]: the last fields
    return [pd.Series(list(map(str.strip, col)), index=numbers, dtype="str") for col in picked]


def _parse_times(path, raw, time_format="unix", whole=False):
    """Parse a stripped str Series (index = line numbers) into int64 unix seconds.

    ``time_format``: "unix" (seconds; ``whole`` forbids fractions, else they
    are floored), "iso" (ISO 8601, UTC if no zone), a strftime pattern, or a
    tuple of strftime patterns tried in order.
    """
    if time_format == "unix":
        secs = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(secs) | (secs < 0) | (secs > MAX_UNIX)
            if whole:
                bad |= secs != np.floor(secs)
        line = _first_line(pd.Series(bad, index=raw.index))
        if line is not None:
            _fail(path, f"cannot parse timestamp {_show(raw[line])} (expected unix seconds)", line)
        return np.floor(secs).astype(np.int64)
    if time_format == "iso":
        stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        stamps[raw.str.lower().isin(["now", "today"])] = pd.NaT
        expected = "ISO 8601"
    else:
        formats = (time_format,) if isinstance(time_format, str) else tuple(time_format)
        stamps = pd.to_datetime(raw, utc=True, errors="coerce", format=formats[0])
        for fmt in formats[1:]:
            missing = stamps.isna()
            stamps[missing] = pd.to_datetime(raw[missing], utc=True, errors="coerce", format=fmt)
        expected = "format " + " or ".join(repr(f) for f in formats)
    line = _first_line(stamps.isna())
    if line is not None:
        _fail(path, f"cannot parse timestamp {_show(raw[line])} (expected {expected})", line)
    return ((stamps - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def _from_fields(path, user, item, stamp, time_format="unix", whole=False):
    """The output frame from stripped str Series indexed by line number."""
    for what, values in (("user", user), ("item", item)):
        line = _first_line(values == "")
        if line is not None:
            _fail(path, f"empty {what} id", line)
    times = _parse_times(path, stamp, time_format, whole)
    return pd.DataFrame({
        "user": user.to_numpy(),
        "item": item.to_numpy(),
        "time": times,
        "line": user.index.to_numpy(dtype=np.int64),
    }, columns=list(COLUMNS)).astype({"user": "str", "item": "str"})


def read_amazon(path):
    """Amazon ratings CSV without header: ``user,item,rating,timestamp``.

    Example line: ``A1,0000013714,4.0,1357257600``.  As in the original
    notebook, field 0 is the user, field 1 the item and the LAST field the
    time (whole unix seconds); at least 3 fields are required.
    """
    fields = _split(path, *_load_lines(path), ",", 3, (0, 1, -1), exact=False)
    return _from_fields(path, *fields, whole=True)


def read_gowalla(path):
    """Gowalla check-ins, TAB-separated without header (5 fields).

    Example line:
    ``0<TAB>2010-10-19T23:55:27Z<TAB>30.2359091167<TAB>-97.7951395833<TAB>22847``;
    user = field 0, time = field 1 (ISO 8601, UTC), item = location id (field 4).
    """
    return _from_fields(path, *_split(path, *_load_lines(path), "\t", 5, (0, 4, 1)), "iso")


def read_ml10m(path):
    """MovieLens-10M/1M ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``.

    Example line: ``1::1193::5::978300760`` (no header, whole unix seconds).
    """
    return _from_fields(path, *_split(path, *_load_lines(path), "::", 4, (0, 1, 3)), whole=True)


def read_yelp(path):
    """Yelp review JSON lines: one object per line with ``user_id``,
    ``business_id`` (the item) and ``date`` (UTC).

    Example line: ``{"user_id": "u1", "business_id": "b7", "date": "2018-07-07 22:09:11"}``;
    a date-only ``"2018-07-07"`` is accepted too.
    """
    rows, numbers = [], []
    for text, number in zip(*_load_lines(path)):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            _fail(path, f"invalid JSON ({err.msg} at column {err.colno})", number)
        if not isinstance(obj, dict):
            _fail(path, f"expected a JSON object, got {type(obj).__name__}", number)
        row = []
        for key in ("user_id", "business_id", "date"):
            if key not in obj:
                _fail(path, f"missing key {key!r}", number)
            value = obj[key]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                _fail(path, f"key {key!r} must be a string, got {json.dumps(value)}", number)
            row.append(str(value).strip())
        rows.append(row)
        numbers.append(number)
    users, items, dates = (pd.Series(col, index=numbers, dtype="str") for col in zip(*rows))
    return _from_fields(path, users, items, dates, ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"))


def _read_with_header(path, sep, wanted, strip_type=False):
    """Fields of a file whose first non-blank line is a header naming its columns.

    Returns the str Series of the ``wanted`` columns; with ``strip_type``
    names are matched on the part before ':' (RecBole ``name:type``).
    """
    lines, numbers = _load_lines(path)
    header = [name.strip() for name in lines[0].split(sep)]
    names = [name.split(":")[0].strip() if strip_type else name for name in header]
    for name in wanted:
        if name not in names:
            _fail(path, f"missing column {name!r} (header has: {', '.join(header)})")
    if len(lines) == 1:
        _fail(path, "no data rows (only a header)")
    return _split(path, lines[1:], numbers[1:], sep, len(header),
                  [names.index(name) for name in wanted], note=" (as in the header)")


def read_recbole(path):
    """RecBole atomic ``.inter`` file: TAB-separated with a typed header.

    Example header and line:
    ``user_id:token<TAB>item_id:token<TAB>rating:float<TAB>timestamp:float`` /
    ``196<TAB>242<TAB>3<TAB>881250949``.  Columns are matched on the name
    before ':'; ``user_id``, ``item_id`` and ``timestamp`` are required.
    Timestamps may be floats (floored); ids are split on TAB only.
    """
    fields = _read_with_header(path, "\t", ("user_id", "item_id", "timestamp"), strip_type=True)
    return _from_fields(path, *fields)


def read_generic(path, sep=",", user_col="user", item_col="item", time_col="time",
                 time_format="unix", header=True):
    """Delimited file with named (``header=True``) or 0-based positional columns.

    Example (defaults): header ``user,item,time`` then ``u1,i9,1357257600``.
    ``time_format``: "unix" (seconds, int or float; floored), "iso" (ISO 8601,
    UTC if no zone) or a strftime pattern such as ``%Y-%m-%d %H:%M:%S`` (UTC).
    Fields are split on ``sep`` literally (no quoting).
    """
    if not isinstance(sep, str) or not sep or "\n" in sep or "\r" in sep:
        _fail(path, f"sep must be a non-empty single-line string, got {sep!r}")
    if time_format not in ("unix", "iso") and "%" not in str(time_format):
        _fail(path, f"unknown time_format {time_format!r} "
                    "(use 'unix', 'iso' or a strftime pattern)")
    cols = (user_col, item_col, time_col)
    kind, ok = ("column names", str) if header else ("0-based column indices", int)
    for col in cols:
        if isinstance(col, bool) or not isinstance(col, ok) or (not header and col < 0):
            _fail(path, f"with header={header}, columns must be {kind}, got {col!r}")
    if header:
        fields = _read_with_header(path, sep, cols)
    else:
        fields = _split(path, *_load_lines(path), sep, max(cols) + 1, cols, exact=False)
    return _from_fields(path, *fields, time_format)


READERS = types.MappingProxyType({
    "amazon": read_amazon,
    "gowalla": read_gowalla,
    "ml10m": read_ml10m,
    "yelp": read_yelp,
    "recbole": read_recbole,
    "csv": read_generic,
})


def read(fmt, path, **options):
    """Read ``path`` with the reader registered as ``fmt`` in ``READERS``."""
    if fmt not in READERS:
        _fail(path, f"unknown format {fmt!r} (known formats: {', '.join(READERS)})")
    return READERS[fmt](path, **options)
