"""`make run` installs requirements/run.txt only: it must hold everything the local stack, the
functions, the receiver and customers-admin import, each package's own requirements (pip then never
has to resolve anything beyond it), and the same pins as requirements/dev.txt."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata

from packaging.requirements import Requirement

from tests.conftest import ROOT

# Imported only for type checking, or only inside Lambda's runtime.
NOT_INSTALLED = {"mypy_boto3_dynamodb", "snapshot_restore_py"}
RUNTIME_CODE = [ROOT / "layers" / "core" / "python", ROOT / "functions", ROOT / "tools" / "local_stack",
                ROOT / "tools" / "customers_admin"]
PROJECT = {"customers_core", "local_stack", "customers_admin", "benchmarks", "tests"}


def pins(name: str) -> dict[str, str]:
    found = {}
    for raw in (ROOT / "requirements" / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            package, version = line.split("==")
            found[canonical(package)] = version
    return found


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_run_set_is_pinned_like_the_dev_set():
    run, dev = pins("run.txt"), pins("dev.txt")
    assert run and set(run) <= set(dev), set(run) - set(dev)
    assert {p: v for p, v in run.items() if dev[p] != v} == {}


def test_run_set_is_closed_under_its_packages_requirements():
    run = pins("run.txt")
    missing: dict[str, list[str]] = {}
    for package in run:
        for raw in metadata.requires(package) or []:
            requirement = Requirement(raw)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue  # an extra's, or another platform's
            if canonical(requirement.name) not in run:
                missing.setdefault(package, []).append(requirement.name)
    assert missing == {}


def test_run_set_covers_every_import_of_the_runtime_code():
    imported: set[str] = set()
    for folder in RUNTIME_CODE:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - PROJECT - NOT_INSTALLED - {"__future__"}
    distributions = metadata.packages_distributions()
    run = pins("run.txt")
    uncovered = {m for m in third_party if not any(canonical(d) in run for d in distributions.get(m, []))}
    assert uncovered == set()


def test_run_set_is_much_smaller_than_the_dev_set():
    assert len(pins("run.txt")) * 2 < len(pins("dev.txt"))
    assert not {"mypy", "schemathesis", "cfn-lint", "hypothesis", "ruff", "pytest"} & set(pins("run.txt"))


def _recipe(makefile: str, target: str) -> tuple[str, str]:
    match = re.search(rf"^{re.escape(target)}:([^\n]*)\n((?:\t[^\n]*\n)+)", makefile, re.MULTILINE)
    assert match, target
    return match.group(1), match.group(2)


def test_make_run_installs_the_run_set_only():
    makefile = (ROOT / "Makefile").read_text()
    prerequisites, _ = _recipe(makefile, "run")
    assert "$(RUN_INSTALLED)" in prerequisites and "$(DEV_INSTALLED)" not in prerequisites
    run_prerequisites, run_recipe = _recipe(makefile, "$(RUN_INSTALLED)")
    assert "requirements/run.txt" in run_prerequisites and "requirements/run.txt" in run_recipe
    assert "dev.txt" not in run_recipe and "--quiet -r" not in run_recipe  # pip's progress is shown
    dev_prerequisites, dev_recipe = _recipe(makefile, "$(DEV_INSTALLED)")
    assert "$(RUN_INSTALLED)" in dev_prerequisites and "requirements/dev.txt" in dev_recipe
    test_prerequisites, _ = _recipe(makefile, "test")
    assert "install" in test_prerequisites
    install_prerequisites = re.search(r"^install:([^\n#]*)", makefile, re.MULTILINE)
    assert install_prerequisites and {"$(DEV_INSTALLED)", "browser"} <= set(install_prerequisites.group(1).split())


def test_the_installer_is_pinned_and_the_editable_install_needs_no_download():
    """uv installs both sets (pinned in bootstrap.txt); --no-build-isolation: setuptools comes from the
    run set, not from a download per install."""
    makefile = (ROOT / "Makefile").read_text()
    assert re.fullmatch(r"\d+\.\d+\.\d+", pins("bootstrap.txt")["uv"])
    assert "$(UV) pip install --python $(PY) -r requirements/run.txt" in makefile
    assert "--no-deps --no-build-isolation -e ." in makefile
    assert "setuptools" in pins("run.txt")
