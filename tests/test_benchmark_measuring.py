"""The benchmarks' measuring helper reads what it claims: a child's output, exit code and peak memory."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.process import run_measured

ROOT = Path(__file__).resolve().parents[1]
#: a process that holds 80 MiB resident for a moment (the sampler reads every 0.1 s)
HOLDS_80_MIB = "import time; b = bytearray(80 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"


def test_the_command_s_peak_memory_and_its_children_s_are_told_apart() -> None:
    """The suite's own figure and the reference target's (a process it starts) are measured separately, and the
    benchmark's own memory (which the command was forked from) counts in neither."""
    ballast = bytearray(100 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    starts_one = (f"import subprocess, sys; subprocess.run([sys.executable, '-c', {HOLDS_80_MIB!r}]); "
                  "print('12 passed, 1 skipped in 0.50s'); sys.exit(3)")
    done = run_measured([sys.executable, "-c", starts_one], ROOT)
    assert done.exit_code == 3 and done.pytest_summary() == ("12 passed, 1 skipped", 0.5)
    assert done.peak_rss_mib < 60, done                     # a small python, not the 100 MiB it was forked from
    assert 80 <= done.children_peak_rss_mib < 150, done
    itself = run_measured([sys.executable, "-c", HOLDS_80_MIB], ROOT)
    assert 80 <= itself.peak_rss_mib < 150 and itself.children_peak_rss_mib == 0, itself
    del ballast
