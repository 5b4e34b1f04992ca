"""List the licence of every distribution the default install pulls in; exit 1 if one is GPL.

Vortex is Apache-2.0, so ``pip install vortex`` (no extras) must not pull in GPL code. The
requirements are walked from Vortex's default dependencies (``pyproject.toml`` beside this
script, else the installed ``vortex`` metadata) through ``importlib.metadata``: each installed
distribution's own requirements, with environment markers evaluated and no extras. A
distribution's licence is its ``License-Expression``, else its ``License`` field (first line),
else its ``License ::`` classifiers.

    python scripts/check_licences.py          # a table; exit 1 on GPL, 2 when a requirement is not installed
    python scripts/check_licences.py --json   # the same as JSON

LGPL (the Lesser GPL, e.g. for dynamically linked libraries) is reported but allowed; GPL and
AGPL are not.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
FORBIDDEN = re.compile(r"(?<![L])(?:A?GPL|(?<!Lesser )(?<!Library )General Public License)", re.I)
LESSER = re.compile(r"LGPL|Lesser General Public|Library General Public", re.I)


def default_requirements() -> list[Requirement]:
    """Vortex's own requirements without extras."""
    if PYPROJECT.is_file():
        project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
        return [Requirement(r) for r in project["dependencies"]]
    return [Requirement(r) for r in metadata.requires("vortex") or [] if "extra ==" not in r]


def licence_of(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    field = (meta.get("License") or "").strip()
    first_line = field.splitlines()[0].strip() if field else ""
    if first_line and first_line.upper() not in ("UNKNOWN", "") and len(first_line) <= 80:
        return first_line if not classifiers else f"{first_line} ({'; '.join(classifiers)})"
    if classifiers:
        return "; ".join(classifiers)
    return first_line[:80] or "unknown"


def is_forbidden(licence: str) -> bool:
    """True for GPL or AGPL (any version), False for LGPL and everything else."""
    without_lesser = LESSER.sub("", licence)
    return bool(FORBIDDEN.search(without_lesser))


def walk() -> tuple[dict[str, dict], list[str]]:
    """{name: {version, licence, required_by}} for the default install, and what is missing."""
    found: dict[str, dict] = {}
    missing: list[str] = []
    queue = [(req, "vortex") for req in default_requirements()]
    while queue:
        req, parent = queue.pop(0)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        if key in found:
            found[key]["required_by"].append(parent)
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{req.name} (required by {parent})")
            continue
        found[key] = {"version": dist.version, "licence": licence_of(dist), "required_by": [parent]}
        queue.extend((Requirement(r), key) for r in dist.requires or [])
    return found, missing


def main(argv: list[str]) -> int:
    found, missing = walk()
    forbidden = sorted(name for name, info in found.items() if is_forbidden(info["licence"]))
    if "--json" in argv:
        print(json.dumps({"distributions": found, "forbidden": forbidden, "missing": missing}, indent=1, sort_keys=True))
    else:
        for name in sorted(found):
            info = found[name]
            flag = "GPL!" if name in forbidden else ""
            print(f"{flag:4} {name:32} {info['version']:14} {info['licence']}")
        print(f"{len(found)} distributions; GPL: {', '.join(forbidden) or 'none'}; not installed: {', '.join(missing) or 'none'}")
    if forbidden:
        return 1
    return 2 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
