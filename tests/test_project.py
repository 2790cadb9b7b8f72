"""The promises the repository makes to a newcomer: README, CI, Dockerfile and pins agree."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()


def test_readme_opens_with_exactly_the_two_setup_commands() -> None:
    assert README[0] == "```sh" and README[3] == "```"
    main_job, tests = README[1], README[2]
    assert "dreambot dream" in main_job and "--out" in main_job
    assert "pytest" in tests
    for command in (main_job, tests):
        assert "-c constraints.txt" in command


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "sed -n 3p README.md" in ci
    assert '"$status" -eq 5' in ci  # pytest's "no tests collected" is a failure


def test_dockerfile_runs_what_the_readme_runs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert "-c constraints.txt" in dockerfile
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.MULTILINE)[1])
    cmd = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE)[1])
    readme_job = shlex.split(README[1].split("&&")[-1])
    assert [Path(readme_job[0]).name, *readme_job[1:]] == [*entrypoint, *cmd]


def test_every_dependency_is_pinned_in_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    pins = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    for requirement in declared:
        name, version = requirement.split("==")
        assert pins.get(name.lower().replace("_", "-")) == version, requirement
