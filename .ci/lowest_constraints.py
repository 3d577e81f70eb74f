"""Print pip constraints pinning every direct dependency to the lowest version pyproject allows.

CI installs the package with these constraints (``pip install -c FILE -e '.[test]'``) and runs
the suite once more, so a ``>=`` bound that the code has outgrown fails CI instead of a user's
install. Direct dependencies are the ``[project]`` dependencies and those of the extras named
on the command line (default: ``test``), following the package's own extras
(``fullon_cache_api[embedded]``); transitive dependencies stay free (pip picks the newest that
fits). Every direct dependency must have a ``>=`` bound: one without is an error, since "the
lowest version allowed" would then be whatever the index's oldest release is.

    python .ci/lowest_constraints.py [EXTRA ...] > constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# name, optional [extras], the specifiers (environment markers are not used by this project).
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*)$")


def normalized(name: str) -> str:
    """The PEP 503 form of a project name (``Prometheus_Client`` -> ``prometheus-client``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lower_bound(requirement: str) -> tuple[str, str | None, list[str]]:
    """The name, the ``>=`` version (None when absent) and the extras of one requirement."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        raise SystemExit(f"lowest_constraints: cannot read requirement {requirement!r}")
    name, extras, specifiers = match.groups()
    bounds = [spec.strip()[2:].strip() for spec in specifiers.split(",") if ">=" in spec]
    extra_names = [extra.strip() for extra in (extras or "").split(",") if extra.strip()]
    return normalized(name), (bounds[0] if bounds else None), extra_names


def direct_requirements(project: dict[str, Any], extras: list[str]) -> list[str]:
    """The project's dependencies and its `extras`' (self-references followed, once each)."""
    own = normalized(project["name"])
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    requirements: list[str] = list(project.get("dependencies", []))
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise SystemExit(f"lowest_constraints: no extra {extra!r} in pyproject.toml")
        for requirement in optional[extra]:
            name, _, nested = lower_bound(requirement)
            if name == own:
                pending.extend(nested)
            else:
                requirements.append(requirement)
    return requirements


def constraints(extras: list[str]) -> list[str]:
    """One ``name==lowest`` line per direct dependency, sorted by name."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    pins: dict[str, str] = {}
    for requirement in direct_requirements(project, extras):
        name, bound, _ = lower_bound(requirement)
        if bound is None:
            raise SystemExit(f"lowest_constraints: {requirement!r} has no >= lower bound")
        # Two requirements on one project (an extra repeating a core one): the higher bound.
        pins[name] = max(pins.get(name, bound), bound, key=release)
    return [f"{name}=={pins[name]}" for name in sorted(pins)]


def release(version: str) -> tuple[int, ...]:
    """A plain release number as a comparable tuple (the bounds here are plain releases)."""
    return tuple(int(part) for part in version.split("."))


if __name__ == "__main__":
    print("\n".join(constraints(sys.argv[1:] or ["test"])))
