"""The scripts' shared command line: error with usage (2), help (0), parsed values."""
from absl import flags

from selfgnn import script_flags


def parse_args(argv):
    fv = script_flags.flag_values()
    flags.DEFINE_integer("n", 1, "a number", flag_values=fv)
    return fv, fv(["x"] + list(argv))[1:]


def test_parsed_values_and_positionals_come_back():
    (fv, rest), code = script_flags.parse(parse_args, ["--n", "3", "a"], "Doc.", "usage: x")
    assert code is None and fv.n == 3 and rest == ["a"]


def test_bad_flag_prints_one_error_and_the_usage(capsys):
    assert script_flags.parse(parse_args, ["--n", "q"], "Doc.", "usage: x", "x: error") == (None, 2)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("x: error: flag --n=q: ") and err[1:] == ["usage: x"]


def test_help_prints_doc_usage_notes_and_flags(capsys):
    assert script_flags.parse(parse_args, ["-h"], " Doc. ", "usage: x", notes="N\n") == (None, 0)
    out = capsys.readouterr().out
    assert out.startswith("Doc.\n\nusage: x\nN\n") and "--n: a number" in out
