"""Bench room: what ``/proc`` says of a process (Linux): its CPU seconds and its memory.

CPU seconds are robust to other load on the machine (wall-clock latency is not), so the benches
report a process's cost from here.
"""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process used so far (``/proc/PID/stat``); 0 when the
    process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name; fields[0] is the state
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident set (``VmHWM`` of ``/proc/PID/status``) in MB."""
    return _status_mb(pid, "VmHWM")


def resident_memory_mb(pid: int) -> float:
    """The process's resident set now (``VmRSS`` of ``/proc/PID/status``) in MB."""
    return _status_mb(pid, "VmRSS")


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} for process {pid}")
