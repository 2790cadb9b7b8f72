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


def test_dockerfile_uses_the_readme_python_install_and_command() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    readme = "\n".join(README)

    # Python: the version the README names, the project requires and CI runs.
    base = re.search(r"^FROM python:(\d+\.\d+)-slim$", dockerfile, re.MULTILINE)
    assert base is not None
    assert f"Python {base[1]}" in readme
    assert project["requires-python"] == f">={base[1]}"

    # Install: the project's own dependencies under constraints.txt, then the project,
    # as README line 2 does with `pip install -c constraints.txt -e .`.
    assert "pip install -q -c constraints.txt -e ." in README[1]
    assert "['project']" in dockerfile and "p['dependencies']" in dockerfile
    # and PostgreSQL's client, so the image also runs on a server (DREAMBOT_DATABASE_URL)
    assert "p['optional-dependencies']['postgres']" in dockerfile
    assert re.search(r"pip install .*-c constraints\.txt -r /tmp/requirements\.txt", dockerfile)
    assert re.search(r"pip install .*--no-deps -c constraints\.txt \.$", dockerfile, re.MULTILINE)

    # Command: the README's console script, running the bots as the README shows.
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.MULTILINE)[1])
    cmd = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE)[1])
    readme_job = shlex.split(README[1].split("&&")[-1])
    assert entrypoint == [Path(readme_job[0]).name] == list(project["scripts"])
    assert cmd == ["run"]
    assert re.search(r"^\S+=\S+ dreambot run\b", readme, re.MULTILINE)
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert json.loads(re.search(r"^    command: (.+)$", compose, re.MULTILINE)[1]) == cmd
    assert "docker compose up" in readme


def test_every_dependency_is_pinned_in_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    # `dreambot[postgres]` in the test extra is the project's own group, pinned where it is.
    declared = [
        requirement
        for requirement in project["dependencies"] + [r for group in extras.values() for r in group]
        if not requirement.startswith(f"{project['name']}[")
    ]
    assert "psycopg[binary]==3.3.9" in extras["postgres"]
    assert f"{project['name']}[postgres]" in extras["test"]  # CI's tests run on PostgreSQL too
    pins = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    for requirement in declared:
        name, version = requirement.split("==")
        name = name.split("[")[0]  # psycopg[binary]: the extra's packages are pinned too
        assert pins.get(name.lower().replace("_", "-")) == version, requirement


def test_the_postgres_compose_file_points_the_bot_at_its_own_server() -> None:
    text = (ROOT / "compose.postgres.yaml").read_text(encoding="utf-8")
    user = re.search(r"POSTGRES_USER: (\S+)", text)[1]
    database = re.search(r"POSTGRES_DB: (\S+)", text)[1]
    url = re.search(r"DREAMBOT_DATABASE_URL: (\S+)", text)[1]
    assert url == f"postgresql://{user}:${{POSTGRES_PASSWORD}}@postgres:5432/{database}"
    assert re.search(r"^  postgres:\n    image: postgres:\d+$", text, re.MULTILINE)
    assert "condition: service_healthy" in text  # the bot refuses a server it cannot reach
    assert "compose.postgres.yaml" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_the_workers_compose_file_runs_one_adapter_and_two_workers_on_that_server() -> None:
    text = (ROOT / "compose.workers.yaml").read_text(encoding="utf-8")
    postgres = (ROOT / "compose.postgres.yaml").read_text(encoding="utf-8")
    commands = re.findall(r"^    command: (.+)$", text, re.MULTILINE)
    assert [json.loads(c) for c in commands] == [
        ["run", "--role", "adapter"],
        ["run", "--role", "worker"],
    ]
    assert re.search(r"replicas: (\d+)", text)[1] == "2"
    url = re.search(r"DREAMBOT_DATABASE_URL: (\S+)", postgres)[1]
    assert re.search(r"DREAMBOT_DATABASE_URL: (\S+)", text)[1] == url
    assert "compose.workers.yaml" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
