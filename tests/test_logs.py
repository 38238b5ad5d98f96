"""Log lines in the original's format and the progress bar."""
import io

import pytest

from selfgnn import logs


def test_make_print_matches_the_original_format():
    assert (logs.make_print("Test", 3, 150, {"HR": 0.37123, "NDCG": 0.21771})
            == "Epoch 3/150, Test: HR = 0.3712, NDCG = 0.2177  ")
    assert logs.make_print("max", 0, 3, {}) == "Epoch 0/3, max  "


@pytest.mark.parametrize("done,total,expected", [
    (0, 4, "[....................]   0%"), (1, 4, "[#####...............]  25%"),
    (4, 4, "[####################] 100%"), (1, 3, "[######..............]  33%"),
])
def test_progress_bar(done, total, expected):
    assert logs.progress_bar(done, total) == expected


def test_logger_prints_timestamped_lines_and_keeps_progress_off_pipes(tmp_path):
    stream = io.StringIO()
    log = logs.Logger(stream)
    log.open(str(tmp_path / "log.txt"))
    log("Epoch 0/3, Train: Loss = 1.0000  ")
    log("Step 1/3", oneline=True)  # a pipe is no terminal: no progress line
    log.plain("epochNdcg1:0.0")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].endswith(": Epoch 0/3, Train: Loss = 1.0000  ")
    assert lines[1] == "epochNdcg1:0.0"
    assert (tmp_path / "log.txt").read_text().splitlines() == lines
