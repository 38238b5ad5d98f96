"""The command line shared by the small absl scripts (report, collect, data_prep,
data_prep.synthetic, bench).

Each script defines its flags on a private FlagValues (`flag_values`), so that tests
can parse again, in a `parse_args(argv)` that raises flags.Error on bad input; `parse`
gives them one behaviour: an error line and the usage (exit code 2) on a bad flag,
the doc, usage and flags (exit code 0) on --help.
"""
import sys

from absl import flags


def flag_values():
    """A private FlagValues holding --help (-h)."""
    fv = flags.FlagValues()
    flags.DEFINE_bool("help", False, "show this help and exit", short_name="h", flag_values=fv)
    return fv


def parse(parse_args, argv, doc, usage, prefix="error", notes=""):
    """(what `parse_args(argv)` returned, None), or (None, exit code) once the error or
    the help is printed. `parse_args` returns the flag values, or a tuple that starts
    with them; `argv` None is the process's arguments; `notes` go before the flags."""
    try:
        parsed = parse_args(sys.argv[1:] if argv is None else argv)
    except flags.Error as e:
        print(f"{prefix}: {e}\n{usage}", file=sys.stderr)
        return None, 2
    values = parsed[0] if isinstance(parsed, tuple) else parsed
    if values.help:
        print(f"{doc.strip()}\n\n{usage}\n{notes}{values.get_help()}")
        return None, 0
    return parsed, None
