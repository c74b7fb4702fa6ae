"""Run one command as a user would and measure it: wall time, output, exit code, peak memory.

Peak memory is read from ``/proc/<pid>/status`` (``VmHWM``, the high-water mark of a process's resident set) for
the command and every process under it, sampled until it ends. ``wait4``'s ``ru_maxrss`` would be simpler, but
Linux counts in it the memory of the process that forked the command (here, the benchmark itself).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: seconds between samples of the process tree's high-water marks
SAMPLE_EVERY = 0.1


@dataclass(frozen=True)
class Measured:
    """One command's run: wall seconds, its stdout and stderr together, exit code, and peak resident set sizes in
    MiB: the command's own process (the suite, with pytest in it) and the largest process it started (such as the
    embedded reference target), 0 when it started none."""

    wall: float
    output: str
    exit_code: int
    peak_rss_mib: float
    children_peak_rss_mib: float = 0.0

    def pytest_summary(self) -> tuple[str, float]:
        """The last pytest summary line ("23 passed, 3 skipped") and its session seconds."""
        sessions = re.findall(r"(\d+ (?:passed|failed).*?) in ([\d.]+)s", self.output)
        return (sessions[-1][0], float(sessions[-1][1])) if sessions else ("no pytest summary", 0.0)


def run_measured(cmd: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Measured:
    """Run ``cmd`` to its end (no timeout: benchmarks run what a user runs) and measure it."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(list(cmd), cwd=cwd, env=None if env is None else dict(env), stdout=out,
                                   stderr=subprocess.STDOUT, text=True)
        peaks: dict[int, int] = {}
        sampler = threading.Thread(target=_sample, args=(process, peaks), daemon=True)
        sampler.start()
        exit_code = process.wait()
        wall = time.perf_counter() - started
        sampler.join()
        out.seek(0)
        output = out.read()
    own = peaks.pop(process.pid, 0)
    return Measured(wall, output, exit_code, round(own / 1024, 1), round(max(peaks.values(), default=0) / 1024, 1))


def _sample(process: subprocess.Popen[str], peaks: dict[int, int]) -> None:
    """Until ``process`` ends, keep the highest VmHWM (KiB) seen of it and of each process under it."""
    while process.poll() is None:
        for pid in (process.pid, *_descendants(process.pid)):
            hwm = _high_water_kib(pid)
            if hwm > peaks.get(pid, 0):
                peaks[pid] = hwm
        time.sleep(SAMPLE_EVERY)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0
