"""Errors that end a run before it can judge anything (exit code 2)."""

from __future__ import annotations


class CannotJudge(Exception):
    """The run cannot judge the target: bad configuration, unreachable target or mail source.

    The message is one line that says why; callers print it and exit with :data:`EXIT_CANNOT_JUDGE`.
    """


EXIT_CONFORMANT = 0
EXIT_NOT_CONFORMANT = 1
EXIT_CANNOT_JUDGE = 2
