"""selfgnn/tables.py: Markdown rows and CSV files, against hand-written text."""
import json

from selfgnn import tables


def test_row_writes_cells_blank_and_empty_ones_apart():
    assert tables.row(["a", 1, 0.5]) == "| a | 1 | 0.5 |"
    assert tables.row(["a", None, "b"]) == "| a | | b |"
    assert tables.row(["a", "", "b"]) == "| a |  | b |"


def test_markdown_is_header_rule_and_rows():
    lines = tables.markdown(["model", "HR@10"], [["SelfGNN", "0.1760"], ["MostPop", ""]])
    assert lines == ["| model | HR@10 |", "|---|---|", "| SelfGNN | 0.1760 |", "| MostPop |  |"]
    assert tables.markdown(["x"], []) == ["| x |", "|---|"]


def test_write_csv_first_seen_columns_quotes_and_missing_cells(tmp_path):
    path = tmp_path / "t.csv"
    tables.write_csv(path, [{"run": "a", "HR10": 0.25, "note": None},
                            {"run": 'b, "c"', "HR10": 1, "K": 3}])
    assert path.read_bytes() == (b'run,HR10,note,K\n'
                                 b'a,0.25,,\n'
                                 b'"b, ""c""",1,,3\n')


def test_write_csv_replaces_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("old,longer,content\n1,2,3\n")
    tables.write_csv(path, [{"a": "x\ny"}])
    assert path.read_bytes() == b'a\n"x\ny"\n'


def test_write_result_writes_the_json_beside_its_table(tmp_path):
    tables.write_result(str(tmp_path / "new"), "latest", {"a": [1, 2.5]}, "| a |\n")
    assert json.loads((tmp_path / "new" / "latest.json").read_text()) == {"a": [1, 2.5]}
    assert (tmp_path / "new" / "latest.md").read_text() == "| a |\n"

