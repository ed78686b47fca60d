"""Bounds on $NAME definitions, ~SEQ/~LST and ${_RANDOM}: a small file cannot expand without limit.

Each runaway case must end at once with `file:line: error:` (exit 2 from --check), never a traceback
or unbounded time or memory. The cases that would run away without the bounds run in a child
process with a memory limit and a timeout, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vrrptui.config import expand, tokens
from vrrptui.config.expand import Expander

MEMORY_LIMIT = 1024 * 1024 * 1024  # bytes of address space for the child: far above what a bounded check needs


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def check_bounded(path: Path) -> list[str]:
    """`vrrptui --check path` in a child with bounded memory and time: the lines it prints, after exit 2."""
    run = subprocess.run([sys.executable, "-m", "vrrptui", "--check", str(path)], capture_output=True, text=True,
                         timeout=60, preexec_fn=_limit_memory)
    assert "Traceback" not in run.stderr
    assert run.returncode == 2, run.stderr
    return run.stderr.splitlines()


def expand_errors(text: str) -> tuple[int, list[tuple[int, str]]]:
    """Expands `text` as a configuration file: (number of lines made, [(line number, error)])."""
    errors: list[tuple[int, str]] = []
    expander = Expander("main", lambda file, number, message: errors.append((number, message)))
    made = sum(1 for _ in expander.lines(textwrap.dedent(text).splitlines(), "/etc/keepalived/keepalived.conf"))
    return made, errors


def test_the_limits_are_those_of_the_file_itself():
    assert expand.MAX_LINE_LENGTH == tokens.MAX_LINE_LENGTH
    assert expand.MAX_EXPANDED_BYTES == tokens.MAX_TOTAL_BYTES


def test_definitions_that_double_at_each_level_stop_at_the_line_length(tmp_path):
    path = tmp_path / "k.conf"
    doubling = "".join(f"$D{k}=${{D{k - 1}}}${{D{k - 1}}}\n" for k in range(1, 25))
    path.write_text("$D0=xx\n" + doubling + "global_defs {\n  router_id ${D24}\n}\n")
    (error, _) = check_bounded(path)
    assert error.startswith(f"{path}:27: error: expanding $D")
    assert "makes a line longer than 8,192 characters (a definition that names itself, or doubles" in error


def test_a_definition_that_names_itself_twice_stops_at_the_line_length(tmp_path):
    path = tmp_path / "k.conf"
    path.write_text("$A=${A}${A}\nrouter_id ${A}\n")
    assert check_bounded(path)[0] == (
        f"{path}:2: error: expanding $A makes a line longer than 8,192 characters (a definition that names itself, "
        f"or doubles at each level?): shorten the definitions used on this line")


def test_a_sequence_that_makes_no_lines_still_counts_its_steps(tmp_path):
    path = tmp_path / "k.conf"
    path.write_text("! steps only\n~SEQ(i, 1000000000000) $Z=$i\n")
    assert check_bounded(path)[0] == (
        f"{path}:2: error: ~SEQ takes 1,000,000,000,000 steps, and the ~SEQ and ~LST steps of the configuration "
        f"may be at most 1,000,000 in all: shorten the range")


def test_nested_and_successive_sequences_share_the_step_limit(monkeypatch):
    monkeypatch.setattr(expand, "MAX_SEQUENCE_STEPS", 100)
    assert expand_errors("~SEQ(i, 10) ~SEQ(j, 9) $Z=$i$j\n") == (0, [])  # 10 + 10 * 9 steps
    _, errors = expand_errors("~SEQ(i, 10) ~SEQ(j, 10) $Z=$i$j\n")
    assert [(n, m.split(",")[0]) for n, m in errors] == [(1, "~SEQ takes 10 steps")]
    _, errors = expand_errors("~SEQ(i, 60) $Z=$i\n~LST(i, a, b) $Y=$i\n~SEQ(i, 60) $Z=$i\n")
    assert [n for n, _ in errors] == [3]


def test_expanded_lines_are_counted_for_the_whole_configuration(monkeypatch):
    monkeypatch.setattr(expand, "MAX_EXPANDED_LINES", 1000)
    text = "$M= \\\na$i \\\nb$i \\\nc$i\n~SEQ(i, 200) $M\n~SEQ(i, 200) $M\n"  # 600 lines each
    made, errors = expand_errors(text)
    assert made == 1000
    assert errors == [(6, "expansion makes more than 1,000 lines in the configuration: shorten the ~SEQ ranges or "
                          "the definitions used")]


def test_expanded_text_is_bounded_for_the_whole_configuration():
    # Few steps and lines, but 50 words each: well under the line and step limits, over 16 MiB of text.
    made, errors = expand_errors("~SEQ(i, 1000000)" + " x" * 50 + "\n")
    assert made < 200_000
    assert errors == [(1, "expansion makes more than 16 MiB of text in the configuration: shorten the ~SEQ ranges "
                          "or the definitions used")]
    made, errors = expand_errors("~SEQ(i, 20000) " + "k" * 8000 + "\n")
    assert made < 2100 and [n for n, _ in errors] == [1]


def test_a_multi_line_definition_is_stopped_before_it_is_built():
    # 100 lines of 8,000 characters, used 30 times: 24 MB, one line at a time no longer than a line may be.
    big = "".join(f"{'x' * 8000} \\\n" for _ in range(99)) + "x" * 8000 + "\n"
    text = "$M= \\\n" + big + "$N= \\\n" + "${M} \\\n" * 29 + "${M}\n" + "$N\n"
    made, errors = expand_errors(text)
    assert made == 0
    assert errors == [(133, "expanding $M makes more than 16 MiB of text in the configuration: shorten the ~SEQ "
                            "ranges or the definitions used")]


def test_after_a_limit_the_rest_is_not_expanded_and_not_reported_again(monkeypatch):
    monkeypatch.setattr(expand, "MAX_EXPANDED_LINES", 10)
    made, errors = expand_errors("~SEQ(i, 20) a$i\n~SEQ(i, 20) b$i\nplain line\n")
    assert made == 11 and [n for n, _ in errors] == [1]  # 10 expanded lines, then the plain one


def test_keepalived_documented_scale_still_expands():
    made, errors = expand_errors("~SEQ(i, 0, 255) ~SEQ(j, 0, 253) 10.$i.$j.1\n")
    assert (made, errors) == (65_024, [])


@pytest.mark.parametrize("line, message", [
    ("router_id ${_RANDOM " + "1" * 4301 + "}",
     "the numbers of ${_RANDOM MIN MAX} have at most 20 digits: use smaller bounds"),
    ("~SEQ(i, 0x" + "f" * 3600 + ", 0x" + "f" * 3600 + ") !",
     "'0xffffffffffffffffff...' in ~SEQ is longer than a number may be (20 characters): a sequence has at "
     "most 1,000,000 steps, use smaller bounds"),
    ("~SEQ(i, " + "9" * 5000 + ") x", "'99999999999999999999...' in ~SEQ is longer than a number may be"),
], ids=["random", "seq-hexadecimal", "seq-decimal"])
def test_numbers_with_thousands_of_digits_are_errors_not_tracebacks(tmp_path, line, message):
    path = tmp_path / "k.conf"
    path.write_text(f"global_defs {{\n{line}\n}}\n")
    assert check_bounded(path)[0].startswith(f"{path}:2: error: {message}")


def test_sequences_nested_on_one_line_are_bounded():
    _, errors = expand_errors("~SEQ(a, 1) " * 700 + "x\n")
    assert errors == [(1, "~SEQ and ~LST nest more than 32 deep on this line: use fewer of them")]
