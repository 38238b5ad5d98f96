"""Tests for data_prep.readers: raw interaction logs -> (user, item, time, line) frames."""
import datetime as dt
import re

import pandas as pd
import pytest

from data_prep import readers
from data_prep.readers import DataPrepError


def unix(*fields):
    """Unix seconds of a UTC date/time given as (year, month, day, ...)."""
    return int(dt.datetime(*fields, tzinfo=dt.timezone.utc).timestamp())


def write(tmp_path, text, name="data.txt", newline="\n", bom=False):
    """Write ``text`` (LF-separated) with the given line ending; returns the str path."""
    path = tmp_path / name
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return str(path)


def frame(rows):
    """Expected reader output from (user, item, time, line) tuples."""
    users, items, times, lines = zip(*rows)
    return pd.DataFrame({
        "user": pd.Series(users, dtype="str"),
        "item": pd.Series(items, dtype="str"),
        "time": pd.Series(times, dtype="int64"),
        "line": pd.Series(lines, dtype="int64"),
    })


TITLE = 'Great Day in Harlem, A (1994) "doc"'

VALID = {
    "amazon": (
        "A1,0000013714,4.0,1357257600\n\n A2 ,B00X,5.0,1357344000\n  \t\nA3,B00Y,3.0,1357430400\n",
        {},
        [("A1", "0000013714", 1357257600, 1), ("A2", "B00X", 1357344000, 3),
         ("A3", "B00Y", 1357430400, 5)],
    ),
    "gowalla": (
        "0\t2010-10-19T23:55:27Z\t30.2359091167\t-97.7951395833\t22847\n\n"
        "0\t2010-10-18T22:17:43Z\t30.2691029532\t-97.7493953705\t420315\n"
        "1\t2010-07-24T13:45:06Z\t40.6438845363\t-73.7828063965\t23261\n",
        {},
        [("0", "22847", unix(2010, 10, 19, 23, 55, 27), 1),
         ("0", "420315", unix(2010, 10, 18, 22, 17, 43), 3),
         ("1", "23261", unix(2010, 7, 24, 13, 45, 6), 4)],
    ),
    "ml10m": (
        "1::1193::5::978300760\n1::661::3::978302109\n\n2::1357::5::978298709\n",
        {},
        [("1", "1193", 978300760, 1), ("1", "661", 978302109, 2), ("2", "1357", 978298709, 4)],
    ),
    "yelp": (
        '{"user_id": "u1", "business_id": "b1", "date": "2018-07-07 22:09:11", "stars": 5}\n'
        "\n"
        '{"business_id": "b2", "user_id": "u2", "date": "2012-01-03"}\n',
        {},
        [("u1", "b1", unix(2018, 7, 7, 22, 9, 11), 1), ("u2", "b2", unix(2012, 1, 3), 3)],
    ),
    "recbole": (
        "\nuser_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        f"196\t{TITLE}\t3\t881250949\n"
        "186\tIt's a \"Wonderful\", Life\t3.5\t891717742.0\n"
        "\n"
        "22\t 'Quoted' \t1\t878887116.9\n",
        {},
        [("196", TITLE, 881250949, 3), ("186", "It's a \"Wonderful\", Life", 891717742, 4),
         ("22", "'Quoted'", 878887116, 6)],
    ),
    "csv": (
        "time;rating;item;user\n1357257600;4;i1;u1\n\n1357344000.0;5;i2;u2\n",
        {"sep": ";"},
        [("u1", "i1", 1357257600, 2), ("u2", "i2", 1357344000, 4)],
    ),
}


@pytest.mark.parametrize("newline,bom", [("\n", False), ("\r\n", False), ("\r\n", True)],
                         ids=["lf", "crlf", "crlf-bom"])
@pytest.mark.parametrize("fmt", sorted(VALID))
def test_valid_files(tmp_path, fmt, newline, bom):
    text, options, rows = VALID[fmt]
    path = write(tmp_path, text, newline=newline, bom=bom)
    result = readers.read(fmt, path, **options)
    pd.testing.assert_frame_equal(result, frame(rows))
    assert list(result.columns) == list(readers.COLUMNS)


def test_registry_and_dispatch(tmp_path):
    assert sorted(readers.READERS) == ["amazon", "csv", "gowalla", "ml10m", "recbole", "yelp"]
    assert readers.READERS["csv"] is readers.read_generic
    path = write(tmp_path, VALID["ml10m"][0])
    pd.testing.assert_frame_equal(readers.read("ml10m", path), readers.read_ml10m(path))
    assert issubclass(DataPrepError, ValueError)


def test_amazon_uses_last_field_as_time(tmp_path):
    path = write(tmp_path, "A1,I1,1357257600\nA2,I2,5.0,extra,1357344000\nA3,I3,4.0,1357430400\n")
    expected = frame([("A1", "I1", 1357257600, 1), ("A2", "I2", 1357344000, 2),
                      ("A3", "I3", 1357430400, 3)])
    pd.testing.assert_frame_equal(readers.read_amazon(path), expected)


def test_split_in_chunks_keeps_file_order(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "_CHUNK", 2)
    rows = [(f"u{k}", f"i{k}", 1000 + k, k + 1) for k in range(5)]
    path = write(tmp_path, "".join(f"{u}::{i}::5::{t}\n" for u, i, t, _ in rows))
    pd.testing.assert_frame_equal(readers.read_ml10m(path), frame(rows))


def test_path_objects_are_accepted(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text("1::2::3::4\n", encoding="utf-8")
    pd.testing.assert_frame_equal(readers.read_ml10m(path), frame([("1", "2", 4, 1)]))


HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"

ERRORS = [
    # (format, options, text, bad line, problem fragment)
    ("amazon", {}, "A1,I1,4.0,1357257600\nA1,0000013714\n", 2,
     "expected at least 3 comma-separated fields, got 2"),
    ("gowalla", {}, "0\t2010-10-19T23:55:27Z\t30.2\t-97.7\t22847\n\n"
     "1\t2010-10-19T23:55:27Z\t30.2\n", 3, "expected 5 tab-separated fields, got 3"),
    ("ml10m", {}, "1::1193::5::978300760\n1::1193::5\n", 2,
     "expected 4 '::'-separated fields, got 3"),
    ("ml10m", {}, "1::1193::5::978300760\n1::1193::5::978300760::x\n", 2,
     "expected 4 '::'-separated fields, got 5"),
    ("recbole", {}, HEADER + "1\t2\t3\t881250949\n1\t2\t881250949\n", 3,
     "expected 4 tab-separated fields (as in the header), got 3"),
    ("csv", {}, "user,item,time\nu1,i1,5\nu2,i2\n", 3,
     "expected 3 comma-separated fields (as in the header), got 2"),
    ("csv", {"header": False, "user_col": 0, "item_col": 3, "time_col": 1}, "u,5,x,i\nu,5\n",
     2, "expected at least 4 comma-separated fields, got 2"),
    ("amazon", {}, "A1,I1,4.0,1357257600\n\n\nA2,I2,4.0,yesterday\n", 4,
     "cannot parse timestamp 'yesterday' (expected unix seconds)"),
    ("amazon", {}, "A1,I1,4.0,1357257600.5\n", 1, "cannot parse timestamp '1357257600.5'"),
    ("amazon", {}, "A1,I1,4.0,1\nA1,I1,4.0,-5\n", 2, "cannot parse timestamp '-5'"),
    ("gowalla", {}, "0\t2010-10-19T23:55:27Z\t30.2\t-97.7\t22847\n0\tnow\t30.2\t-97.7\t22847\n",
     2, "cannot parse timestamp 'now' (expected ISO 8601)"),
    ("ml10m", {}, "1::1193::5::978300760\n2::3::4::inf\n", 2, "cannot parse timestamp 'inf'"),
    ("yelp", {}, '{"user_id": "u", "business_id": "b", "date": "2018-13-45"}\n', 1,
     "cannot parse timestamp '2018-13-45'"),
    ("recbole", {}, HEADER + "1\t2\t3\t881250949\n\n1\t2\t3\tabc\n", 4,
     "cannot parse timestamp 'abc' (expected unix seconds)"),
    ("csv", {}, "user,item,time\nu1,i1,nan\n", 2, "cannot parse timestamp 'nan'"),
    ("csv", {"time_format": "iso"}, "user,item,time\nu1,i1,2020-01-01\nu1,i1,01/02/2020\n", 3,
     "cannot parse timestamp '01/02/2020' (expected ISO 8601)"),
    ("csv", {"time_format": "%Y-%m-%d %H:%M:%S"}, "user,item,time\nu1,i1,2020-01-01\n", 2,
     "cannot parse timestamp '2020-01-01' (expected format '%Y-%m-%d %H:%M:%S')"),
    ("yelp", {}, '{"user_id": "u", "business_id": "b", "date": "2018-01-01"}\n{"user_id": "u",\n',
     2, "invalid JSON"),
    ("yelp", {}, '\n{"user_id": "u", "date": "2018-01-01"}\n', 2, "missing key 'business_id'"),
    ("yelp", {}, "[1, 2]\n", 1, "expected a JSON object"),
    ("yelp", {}, '{"user_id": null, "business_id": "b", "date": "2018-01-01"}\n', 1,
     "key 'user_id' must be a string"),
    ("ml10m", {}, "1::1193::5::978300760\n ::1193::5::978300760\n", 2, "empty user id"),
    ("amazon", {}, "A1,,4.0,1357257600\n", 1, "empty item id"),
]


@pytest.mark.parametrize("fmt,options,text,line,problem", ERRORS)
def test_errors_name_path_line_and_problem(tmp_path, fmt, options, text, line, problem):
    path = write(tmp_path, text, name=f"bad.{fmt}")
    with pytest.raises(DataPrepError) as info:
        readers.read(fmt, path, **options)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert problem in message


def test_errors_report_the_first_bad_line(tmp_path):
    path = write(tmp_path, "1::2::3::4\n1::2::3::x\n1::2\n1::2::3::y\n", newline="\r\n")
    with pytest.raises(DataPrepError, match=r":3: expected 4 '::'-separated fields, got 2$"):
        readers.read_ml10m(path)
    path = write(tmp_path, "1::2::3::4\n1::2::3::x\n1::2::3::y\n", name="t.dat")
    with pytest.raises(DataPrepError, match=r":2: cannot parse timestamp 'x'"):
        readers.read_ml10m(path)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("A1,I1,4.0,1\nA2,caf\xe9,4.0,2\n".encode("latin-1"))
    with pytest.raises(DataPrepError, match=r"latin1\.csv:2: not valid UTF-8"):
        readers.read_amazon(str(path))


def test_recbole_missing_column_lists_the_header(tmp_path):
    path = write(tmp_path, "user_id:token\titem_id:token\n1\t2\n", name="x.inter")
    with pytest.raises(DataPrepError) as info:
        readers.read_recbole(path)
    assert str(info.value) == (
        f"{path}: missing column 'timestamp' (header has: user_id:token, item_id:token)")


def test_generic_missing_named_column(tmp_path):
    path = write(tmp_path, "user,item,ts\nu,i,1\n", name="x.csv")
    with pytest.raises(DataPrepError) as info:
        readers.read_generic(path)
    assert str(info.value) == f"{path}: missing column 'time' (header has: user, item, ts)"


def test_unknown_format_lists_known_ones(tmp_path):
    path = write(tmp_path, "1::2::3::4\n")
    with pytest.raises(DataPrepError, match="unknown format 'netflix'") as info:
        readers.read("netflix", path)
    for fmt in readers.READERS:
        assert fmt in str(info.value)


@pytest.mark.parametrize("fmt", sorted(readers.READERS))
def test_missing_file(tmp_path, fmt):
    path = str(tmp_path / "nope.txt")
    with pytest.raises(DataPrepError) as info:
        readers.read(fmt, path)
    assert str(info.value) == f"{path}: file not found"


@pytest.mark.parametrize("fmt", sorted(readers.READERS))
@pytest.mark.parametrize("text", ["", "\n  \n\t\r\n"], ids=["empty", "blank-lines"])
def test_empty_file(tmp_path, fmt, text):
    path = write(tmp_path, text)
    with pytest.raises(DataPrepError, match="no data rows") as info:
        readers.read(fmt, path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("fmt,text", [("recbole", HEADER), ("csv", "user,item,time\n\n")])
def test_header_only_file(tmp_path, fmt, text):
    path = write(tmp_path, text)
    with pytest.raises(DataPrepError, match=re.escape(f"{path}: no data rows")):
        readers.read(fmt, path)


def test_recbole_header_without_types_and_extra_columns(tmp_path):
    path = write(tmp_path, "timestamp\tuser_id\tlabel\titem_id\n5.0\tu\t1\tA, \"B\" C\n")
    expected = frame([("u", 'A, "B" C', 5, 2)])
    pd.testing.assert_frame_equal(readers.read_recbole(path), expected)


GENERIC = [
    ({"sep": "\t", "header": False, "user_col": 2, "item_col": 0, "time_col": 1},
     "i1\t100\tu1\ni2\t200.0\tu2\textra\n",
     [("u1", "i1", 100, 1), ("u2", "i2", 200, 2)]),
    ({"time_format": "iso"},
     "user,item,time\nu1,i1,2020-01-02T03:04:05Z\nu2,i2,2020-01-02 03:04:05\n"
     "u3,i3,2020-01-02T05:04:05+02:00\nu4,i4,2020-01-02\n",
     [("u1", "i1", unix(2020, 1, 2, 3, 4, 5), 2), ("u2", "i2", unix(2020, 1, 2, 3, 4, 5), 3),
      ("u3", "i3", unix(2020, 1, 2, 3, 4, 5), 4), ("u4", "i4", unix(2020, 1, 2), 5)]),
    ({"time_format": "%d/%m/%Y %H:%M", "user_col": "who", "item_col": "what", "time_col": "when"},
     "when,what,who\n02/01/2020 03:04,i1,u1\n",
     [("u1", "i1", unix(2020, 1, 2, 3, 4), 2)]),
    ({"sep": "::", "header": False, "user_col": 0, "item_col": 2, "time_col": 1},
     "u::100::x:\nv::200::y\n",
     [("u", "x:", 100, 1), ("v", "y", 200, 2)]),
    ({"sep": "|", "user_col": "u", "item_col": "i", "time_col": "t"},
     "u|i|t\na|b,c|12.9\n",
     [("a", "b,c", 12, 2)]),
]


@pytest.mark.parametrize("options,text,rows", GENERIC,
                         ids=["positional", "iso", "strftime", "multichar-sep", "float-unix"])
def test_generic(tmp_path, options, text, rows):
    path = write(tmp_path, text)
    pd.testing.assert_frame_equal(readers.read_generic(path, **options), frame(rows))


@pytest.mark.parametrize("options,problem", [
    ({"header": False}, "columns must be 0-based column indices"),
    ({"user_col": 0}, "columns must be column names"),
    ({"time_format": "epoch"}, "unknown time_format 'epoch'"),
    ({"sep": ""}, "sep must be a non-empty"),
])
def test_generic_bad_options(tmp_path, options, problem):
    path = write(tmp_path, "user,item,time\nu,i,1\n")
    with pytest.raises(DataPrepError, match=problem):
        readers.read_generic(path, **options)
