"""constraints.txt pins every package the project needs, and that is what is installed.

A dependency added to pyproject.toml without `make lock` fails here, as does a stale pin.
"""

from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.servers import ROOT

PROJECT = "vapi-caller-id"
# Pinned by `make lock` though no package requires it: the installer itself.
INSTALLER = {"pip"}


def pins():
    """{package: version} from constraints.txt, every line `name==version`."""
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, separator, version = line.partition("==")
            assert separator and version.strip(), f"not a pin: {line!r}"
            pinned[canonicalize_name(name)] = version.strip()
    return pinned


def required(project, extras):
    """Every distribution `project[extras]` needs, here, by name: the installed closure."""
    found, todo = set(), [(project, frozenset(extras))]
    seen = set()
    while todo:
        name, wanted = todo.pop()
        if (canonicalize_name(name), wanted) in seen:
            continue
        seen.add((canonicalize_name(name), wanted))
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise AssertionError(f"{name} is required and not installed: run make setup") from None
        found.add(canonicalize_name(dist.metadata["Name"]))
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in wanted or {""}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found - {canonicalize_name(project)}


def test_every_required_package_is_pinned_and_nothing_else():
    needed = required(PROJECT, {"dev"})
    pinned = pins()
    assert "sqlalchemy" in needed and "psycopg" in needed
    assert not needed - set(pinned), "required but not pinned: run make lock"
    assert not set(pinned) - needed - INSTALLER, "pinned but no longer required: run make lock"


def test_the_installed_versions_are_the_pinned_ones():
    wrong = {
        name: (distribution(name).version, version)
        for name, version in pins().items()
        if distribution(name).version != version
    }
    assert not wrong, f"installed, pinned: {wrong}; run make setup"
