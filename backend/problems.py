"""What is wrong in a configuration file (tenant YAML or catalog .po), where. Plain Python.

One type for both kinds of file: the live reload, /readyz and the `check` commands show them
alike, as `file:line: key: problem`.
"""

from dataclasses import dataclass

from backend.log_mask import mask_phone_shaped


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file; `severity` is "error" (refused), "review" (served, but the
    `check` commands fail: a translation of a source text changed since) or "warning" (served)."""

    file: str
    line: int
    key: str
    message: str
    severity: str = "error"

    def __post_init__(self):
        # /readyz (unauthenticated), the check commands and the console show key and message as
        # they are: a phone number typed in a file (as a key, a value quoted back, a .po line
        # babel cites) is masked here, once for every reader, as a log line masks it.
        for name in ("key", "message"):
            object.__setattr__(self, name, mask_phone_shaped(str(getattr(self, name))))

    def __str__(self):
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {self.key}: {prefix}{self.message}"

    def report(self, file):
        """What /readyz says of it: the file as the caller names it, line, key and problem."""
        return {"file": file, "line": self.line, "key": self.key, "problem": self.message}


def is_error(problem):
    """Errors refuse a file; the others are served."""
    return problem.severity == "error"


def fails_check(problem):
    """What a `check` command exits 1 on: all but warnings (a secret variable not set)."""
    return problem.severity != "warning"


def unreadable_file(path, error):
    """The Problem of a file that cannot be read; one not in UTF-8 at the line it stops at."""
    if isinstance(error, UnicodeDecodeError):
        line = error.object[: error.start].count(b"\n") + 1
        byte = error.object[error.start]
        message = f"not UTF-8 (byte 0x{byte:02x} on this line): save the file as UTF-8"
        return Problem(str(path), line, "(file)", message)
    return Problem(str(path), 1, "(file)", unreadable(error))


def unreadable(error):
    """Why a file or folder cannot be read, without its path: that goes to /readyz, and the
    problem names the file already."""
    if isinstance(error, OSError):
        return f"cannot be read: {error.strerror or type(error).__name__}"
    return f"cannot be read: {error}"
