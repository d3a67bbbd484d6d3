"""One consistent configuration: the tenants, the catalogs and the refused edits, as one value.

Plain Python. A reload builds a new `Served` and swaps it in whole (one attribute assignment), so
a request that took one reference reads tenants and catalogs of the same version throughout.
Nothing mutates a `Served` once published: its dicts are built fresh by each reload.
"""

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from backend.tenants.config import TenantDirectory

# A refused file's problems /readyz lists beyond its first (it answers anyone: bounded).
MORE_SHOWN = 9


def fingerprint(tenants, catalogs):
    """A short digest of what is served: workers serving the same configuration show the same."""
    entries = catalogs.entries.items() if catalogs is not None else ()
    served = repr(sorted(map(repr, tenants.values()))) + repr(sorted(entries))
    # Base 32 (letters and 2 to 7), not hex: 12 hex characters are sometimes all digits, and a
    # /readyz answer then holds what looks like a phone number.
    digest = hashlib.sha256(served.encode()).digest()
    return base64.b32encode(digest).decode()[:12].lower()


@dataclass(frozen=True)
class Served:
    """What is served: `directory` (tenants), `catalogs`, and the edits refused on the way."""

    tenants_dir: str
    locales_dir: str
    catalogs: object = None  # Catalogs; None before the first load
    tenants: dict = field(default_factory=dict)  # file -> Tenant, last good version of each
    refused: dict = field(default_factory=dict)  # file -> problems of its refused content
    catalog_refusal: tuple = ()  # problems of a refused catalog edit
    directory: TenantDirectory = field(default_factory=lambda: TenantDirectory([]))
    fingerprint: str = None

    def serving_refused(self, path):
        """The tenant a refused file still serves (its last good version), or None."""
        tenant = self.tenants.get(path)
        return tenant.id if tenant is not None and path in self.refused else None

    def refusals(self):
        """The refused edits, for /readyz: which tenant each still serves, where, and why."""
        report = []
        for path, problems in sorted(self.refused.items()):
            first, *others = problems
            entry = {"tenant": self.serving_refused(path), **first.report(Path(path).name)}
            if others:  # the same file's other problems, so that one fix is not one reload
                entry["more"] = [
                    {"line": p.line, "key": p.key, "problem": p.message}
                    for p in others[:MORE_SHOWN]
                ]
                if len(others) > MORE_SHOWN:
                    entry["more_left_out"] = len(others) - MORE_SHOWN
            report.append(entry)
        for problem in self.catalog_refusal:
            report.append(
                {"catalogs": "edit refused", **problem.report(self._catalog_name(problem.file))}
            )
        return report

    def _catalog_name(self, path):
        path = Path(path)
        locales = Path(self.locales_dir)
        return str(path.relative_to(locales)) if path.is_relative_to(locales) else path.name
