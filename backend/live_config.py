"""Tenants and catalogs that follow their files while serving, keeping the last good version.

Plain Python. Catalogs are taken as a whole: one broken .po file keeps every previous catalog.
Tenants are taken file by file: a broken file keeps its tenant on the last version that
validated, while the other files update; a new broken file serves nothing; a removed file stops
its tenant.
"""

import hashlib
import os
import threading
import time
from pathlib import Path

from .i18n import CatalogProblem, Catalogs, catalog_files
from .tenant_config import Problem, TenantDirectory, cross_check, load_tenant_file, tenant_files

# A file modified this recently may change again within the same timestamp tick: look again.
SETTLE_NS = 2_000_000_000


def is_error(problem):
    """Errors refuse a file; warnings (a secret variable not set) are served."""
    return getattr(problem, "severity", "error") == "error"


def file_signature(folders):
    """(path, mtime, size, inode) of the tenant files and catalogs; changes on any saved edit.

    Second value: False when a file was modified in the last two seconds, so a same-size edit
    within one timestamp tick is still seen at the next check.
    """
    tenants_dir, locales_dir = folders
    now = time.time_ns()
    entries, settled = [], True
    try:
        paths = tenant_files(tenants_dir) + catalog_files(locales_dir)
    except OSError:
        return ("unreadable folder",), True
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            continue  # removed between listing and stat: the next check sees it gone
        entries.append((str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino))
        settled = settled and abs(now - stat.st_mtime_ns) > SETTLE_NS
    return tuple(entries), settled


def fingerprint(tenants, catalogs):
    """A short digest of what is served: workers serving the same configuration show the same."""
    served = repr(sorted(map(repr, tenants.values()))) + repr(sorted(catalogs.entries.items()))
    return hashlib.sha256(served.encode()).hexdigest()[:12]


class LiveConfiguration:
    """What is served now: `directory` (tenants), `catalogs`, and the refused edits."""

    def __init__(self, tenants_dir, locales_dir, check_interval):
        self.tenants_dir, self.locales_dir = str(tenants_dir), str(locales_dir)
        # Seconds between looks at the files' metadata: a saved edit applies within this delay.
        self.check_interval = check_interval
        self.catalogs = None
        self.catalog_refusal = ()  # problems of a refused catalog edit
        self.tenants = {}  # file -> Tenant, the last good version of each file
        self.refused = {}  # file -> problems of its refused current content
        self.directory = TenantDirectory([])
        self.fingerprint = None
        self._logged = {}  # file -> problems already reported, so each is reported once
        self._signature = None
        self._next_check = 0.0
        self._lock = threading.Lock()

    def check(self):
        """Reload when a file changed; at most once per check_interval. Returns what `load` does.

        Cheap on the request path: one clock read, then once an interval a directory listing and a
        few stat calls; files are read only when their metadata changed.
        """
        now = time.monotonic()
        if now < self._next_check or not self._lock.acquire(blocking=False):
            return None
        try:
            self._next_check = now + self.check_interval
            if file_signature((self.tenants_dir, self.locales_dir))[0] == self._signature:
                return None
            return self.load()
        finally:
            self._lock.release()

    def load(self):
        """Read both folders and apply what validates. Returns ([new problems], changed)."""
        # Taken before reading: an edit saved during the read is seen at the next check.
        signature, settled = file_signature((self.tenants_dir, self.locales_dir))
        self._signature = signature if settled else None
        catalogs = Catalogs(self.locales_dir)
        catalog_problems = list(catalogs.problems)
        if not catalogs.entries and self.catalogs is not None and self.catalogs.entries:
            # A folder emptied or swapped mid-deploy: not an edit to apply.
            message = "no catalog found: the previous catalogs are kept"
            catalog_problems.append(CatalogProblem(self.locales_dir, 1, "(folder)", message))
        if catalog_problems and self.catalogs is not None:
            catalogs = self.catalogs
        # At start-up there is nothing to fall back on: the caller decides what errors mean.
        self.catalog_refusal = tuple(catalog_problems)
        try:
            paths = [str(p) for p in tenant_files(self.tenants_dir)]
        except OSError as error:
            # A folder gone or unreadable (a deploy swapping it?): every tenant stays as it was.
            problem = Problem(self.tenants_dir, 1, "(folder)", f"cannot be read: {error}")
            self.catalogs = catalogs
            self.refused = {**self.refused, self.tenants_dir: [problem]}
            return self._report({self.tenants_dir: [problem]}, catalog_problems), False
        candidates, refused, found = {}, {}, {}
        for path in paths:
            tenant, problems = load_tenant_file(path, catalogs.variants, catalogs.knows_locale)
            found[path] = problems
            if tenant is not None:
                candidates[path] = tenant
            else:
                refused[path] = [p for p in problems if is_error(p)]
                if path in self.tenants:
                    candidates[path] = self.tenants[path]
        self._settle_claims(candidates, refused, found)
        changed = candidates != self.tenants or catalogs is not self.catalogs
        self.catalogs = catalogs
        self.tenants, self.refused = candidates, refused
        self.directory = TenantDirectory(candidates.values())
        self.fingerprint = fingerprint(candidates, catalogs)
        return self._report(found, catalog_problems), changed

    def _settle_claims(self, candidates, refused, found):
        """Two files may not claim one id, number or phone-number id: the file serving it wins."""
        while True:
            # Files serving what they served before come first, so they keep their claims.
            ordered = sorted(candidates, key=lambda p: (candidates[p] != self.tenants.get(p), p))
            crossed = cross_check([candidates[p] for p in ordered])
            if not crossed:
                return
            for problem in crossed:
                path = problem.file
                refused.setdefault(path, []).append(problem)
                found[path] = [*found.get(path, []), problem]
                previous = self.tenants.get(path)
                if previous is not None and candidates.get(path) is not previous:
                    candidates[path] = previous
                else:
                    candidates.pop(path, None)

    def _report(self, found, catalog_problems):
        """The problems not reported before (each file's set once), catalogs' included."""
        found = {**found}
        for problem in catalog_problems:
            found.setdefault(problem.file, []).append(problem)
        new = []
        for path, problems in found.items():
            if tuple(problems) != self._logged.get(path):
                new += problems
        self._logged = {path: tuple(problems) for path, problems in found.items()}
        return new

    def serving_refused(self, path):
        """The tenant a refused file still serves (its last good version), or None."""
        tenant = self.tenants.get(path)
        return tenant.id if tenant is not None and path in self.refused else None

    def refusals(self):
        """The refused edits, for /readyz: which tenant each still serves, where, and why."""
        report = []
        for path, problems in sorted(self.refused.items()):
            first = problems[0]
            report.append(
                {
                    "tenant": self.serving_refused(path),
                    "file": Path(path).name,
                    "line": first.line,
                    "key": first.key,
                    "problem": first.message,
                }
            )
        for problem in self.catalog_refusal:
            report.append(
                {
                    "catalogs": "edit refused",
                    "file": self._catalog_name(problem.file),
                    "line": problem.line,
                    "key": problem.key,
                    "problem": problem.message,
                }
            )
        return report

    def _catalog_name(self, path):
        path = Path(path)
        locales = Path(self.locales_dir)
        return str(path.relative_to(locales)) if path.is_relative_to(locales) else path.name
