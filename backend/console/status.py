"""A tenant file's state, as the console shows it: valid, or refused and why. Plain Python.

Read from what the server serves (backend/tenants/served.py): the last good version of each
file, and the problems of its refused edit, each shown as `file:line: key: problem`.
"""

import os
from dataclasses import dataclass
from pathlib import Path

VALID = "valid"
EDIT_REFUSED = "edit_refused"  # the last good version still serves
REFUSED = "refused"  # nothing serves from this file


@dataclass(frozen=True)
class TenantStatus:
    """One tenant file: its tenant (None when none ever validated), state and problems."""

    file: str
    tenant: object
    state: str
    problems: tuple

    @property
    def secret_set(self):
        """True when the variable the tenant's file names holds a secret."""
        return self.tenant is not None and self.tenant.secret is not None


def shown_problem(problem, tenants_dir):
    """`file:line: key: problem`, the file by its name: where the server keeps it is not shown."""
    message = problem.message.replace(os.path.join(tenants_dir, ""), "")
    return (
        str(problem)
        .replace(problem.file, Path(problem.file).name, 1)
        .replace(problem.message, message)
    )


def tenant_statuses(served):
    """Every tenant file served or refused, by file name."""
    statuses = []
    for path in sorted(set(served.tenants) | set(served.refused), key=lambda p: Path(p).name):
        tenant = served.tenants.get(path)
        problems = tuple(shown_problem(p, served.tenants_dir) for p in served.refused.get(path, ()))
        state = VALID if not problems else EDIT_REFUSED if tenant is not None else REFUSED
        statuses.append(TenantStatus(Path(path).name, tenant, state, problems))
    return statuses


def status_of(served, tenant_id):
    """The status of the file serving `tenant_id`, or None."""
    for status in tenant_statuses(served):
        if status.tenant is not None and status.tenant.id == tenant_id:
            return status
    return None


def catalog_problems(served):
    """A refused catalog edit's problems, `file:line: key: problem`, the file under locales/."""
    locales = os.path.join(served.locales_dir, "")
    return [str(p).replace(locales, "", 1) for p in served.catalog_refusal]
