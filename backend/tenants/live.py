"""Tenants and catalogs that follow their files while serving, keeping the last good version.

Plain Python. Catalogs are taken as a whole: one broken .po file keeps every previous catalog.
Tenants are taken file by file: a broken file keeps its tenant on the last version that
validated, while the other files update; a new broken file serves nothing; a removed file stops
its tenant. Each load publishes a new `Served` whole; the caller decides when to check (the
server: a thread of its own, backend/tenants/watcher.py, never a request).
"""

import os
import threading
import time
from time import monotonic_ns

from backend.problems import Problem, is_error, unreadable
from backend.tenants.config import (
    TenantDirectory,
    cross_check,
    load_tenant_file,
    oldest_first,
    tenant_files,
)
from backend.tenants.served import Served, fingerprint
from backend.wording.catalogs import Catalogs, catalog_files

# A file modified this recently may change again within the same timestamp tick: look again.
SETTLE_NS = 2_000_000_000


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


def _served(name):
    """A read of what is served now: each read may see a newer swap; a request pins one."""
    return property(lambda self: getattr(self.served, name), doc=f"`Served.{name}` now.")


class LiveConfiguration:
    """Loads both folders into `served`, keeping the last good version of what an edit breaks."""

    directory = _served("directory")
    catalogs = _served("catalogs")
    tenants = _served("tenants")
    refused = _served("refused")
    catalog_refusal = _served("catalog_refusal")
    fingerprint = _served("fingerprint")

    def __init__(self, tenants_dir, locales_dir):
        self.tenants_dir, self.locales_dir = str(tenants_dir), str(locales_dir)
        self.served = Served(self.tenants_dir, self.locales_dir)
        self._logged = {}  # file -> problems already reported, so each is reported once
        self._signature = None
        self._missing = {}  # served file -> when it was first found gone (monotonic ns)
        self._lock = threading.Lock()  # one load at a time: they compare with the last one

    @property
    def lock(self):
        """Held by each load; gunicorn's master holds it across a fork (backend/tenants/boot.py)."""
        return self._lock

    def check(self):
        """Reload when a file changed since the last load. Returns what `load` does, or None.

        A directory listing and a few stat calls; files are read only when their metadata
        changed. None too when a load is already under way.
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if file_signature((self.tenants_dir, self.locales_dir))[0] == self._signature:
                return None
            return self._load()
        finally:
            self._lock.release()

    def load(self):
        """Read both folders and apply what validates. Returns ([new problems], changed)."""
        with self._lock:
            return self._load()

    def _load(self):
        # Taken before reading: an edit saved during the read is seen at the next check.
        signature, settled = file_signature((self.tenants_dir, self.locales_dir))
        self._signature = signature if settled else None
        served = self.served
        catalogs = Catalogs(self.locales_dir)
        catalog_problems = list(catalogs.problems)
        if not catalogs.entries and served.catalogs is not None and served.catalogs.entries:
            # A folder emptied or swapped mid-deploy: not an edit to apply.
            message = "no catalog found: the previous catalogs are kept"
            catalog_problems.append(Problem(self.locales_dir, 1, "(folder)", message))
        if served.catalogs is not None and (
            catalog_problems or catalogs.entries == served.catalogs.entries
        ):
            # Refused, or the same sentences read again (each check in the two seconds after
            # an edit reads the files): what is served stays, and nothing is said to change.
            catalogs = served.catalogs
        # At start-up there is nothing to fall back on: the caller decides what errors mean.
        try:
            paths = [str(p) for p in tenant_files(self.tenants_dir)]
        except OSError as error:
            # A folder gone or unreadable (a deploy swapping it?): every tenant stays as it was.
            return self._keep_tenants(catalogs, catalog_problems, unreadable(error))
        if not paths and served.tenants:
            # A folder emptied mid-deploy, like the catalogs': not an edit to apply.
            message = "no tenant file found: the previous tenants are kept"
            return self._keep_tenants(catalogs, catalog_problems, message)
        candidates, refused, found = {}, {}, {}
        for path in paths:
            tenant, problems = load_tenant_file(path, catalogs.variants, catalogs.knows_locale)
            found[path] = problems
            if tenant is not None:
                candidates[path] = tenant
            else:
                refused[path] = [p for p in problems if is_error(p)]
                if path in served.tenants:
                    candidates[path] = served.tenants[path]
        self._keep_the_recently_removed(served.tenants, paths, candidates)
        self._settle_claims(served.tenants, candidates, refused, found)
        changed = candidates != served.tenants or catalogs is not served.catalogs
        self.served = Served(
            self.tenants_dir,
            self.locales_dir,
            catalogs,
            candidates,
            refused,
            tuple(catalog_problems),
            TenantDirectory(candidates.values()),
            fingerprint(candidates, catalogs),
        )
        return self._report(found, catalog_problems), changed

    def _keep_the_recently_removed(self, previous, paths, candidates):
        """A removed file stops its tenant once it has stayed away SETTLE_NS: a deploy that
        deletes the files, then copies the new ones, stops no tenant in between."""
        now = monotonic_ns()
        present = set(paths)
        self._missing = {p: self._missing.get(p, now) for p in previous if p not in present}
        for path, since in self._missing.items():
            if now - since < SETTLE_NS:
                candidates[path] = previous[path]
                self._signature = None  # look again at the next check

    def _keep_tenants(self, catalogs, catalog_problems, message):
        """Serve the same tenants, saying in the refusals why the folder was not applied."""
        served = self.served
        problem = Problem(self.tenants_dir, 1, "(folder)", message)
        self.served = Served(
            self.tenants_dir,
            self.locales_dir,
            catalogs,
            served.tenants,
            {**served.refused, self.tenants_dir: [problem]},
            tuple(catalog_problems),
            served.directory,
            fingerprint(served.tenants, catalogs),
        )
        changed = catalogs is not served.catalogs
        return self._report({self.tenants_dir: [problem]}, catalog_problems), changed

    @staticmethod
    def _settle_claims(previous, candidates, refused, found):
        """Two files may not claim one id, number or phone-number id: the file serving it wins."""
        while True:
            # Files serving what they served before come first, so they keep their claims;
            # then the file changed longest ago (a newcomer's claim is refused).
            ordered = sorted(
                candidates, key=lambda p: (candidates[p] != previous.get(p), oldest_first(p))
            )
            crossed = cross_check([candidates[p] for p in ordered])
            if not crossed:
                return
            for problem in crossed:
                path = problem.file
                refused.setdefault(path, []).append(problem)
                found[path] = [*found.get(path, []), problem]
                last_good = previous.get(path)
                if last_good is not None and candidates.get(path) is not last_good:
                    candidates[path] = last_good
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
        return self.served.serving_refused(path)

    def refusals(self):
        """The refused edits, for /readyz: which tenant each still serves, where, and why."""
        return self.served.refusals()
