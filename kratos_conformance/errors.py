"""Errors that end a run before it can judge anything (exit code 2)."""

from __future__ import annotations

import argparse
from typing import NoReturn

#: the command's name, which starts every line it prints about a run
PROG = "kratos-conformance"


class CannotJudge(Exception):
    """The run cannot judge the target: bad configuration, unreachable target or mail source.

    The message is one line that says why; callers print it and exit with :data:`EXIT_CANNOT_JUDGE`.
    """


def first_line(exc: BaseException, limit: int) -> str:
    """The first line of ``exc``'s message, at most ``limit`` characters ("" when it has none): how an error of
    another library is named inside a one-line message."""
    return (str(exc).splitlines() or [""])[0][:limit]


EXIT_CONFORMANT = 0
EXIT_NOT_CONFORMANT = 1
EXIT_CANNOT_JUDGE = 2


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, naming the command's help, and exit code 2
    (:data:`EXIT_CANNOT_JUDGE`); it takes no abbreviated option (``--public`` is not ``--public-url``)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CANNOT_JUDGE, f"{PROG}: {message} (see {self.prog} --help)\n")
