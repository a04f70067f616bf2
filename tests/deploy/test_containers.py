"""The container files of `deploy/`, checked without pulling any image (these machines
cannot): the compose file is valid for Docker Compose, its nginx site for nginx, and the
Containerfile's own install and start commands build a working visio in a fresh virtual
environment from exactly the files the Containerfile copies.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.deploy.test_deploy_files import _tool, nginx_check, self_signed
from tests.test_cli import environment, free_port, wait_for

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    if IN_CI:
        pytest.fail("Docker Compose is missing: .ci/run installs docker-compose")
    pytest.skip("Docker Compose is not installed")


def test_the_compose_file_is_valid_and_runs_what_the_issue_asks(tmp_path: Path) -> None:
    folder = tmp_path / "deploy"
    shutil.copytree(DEPLOY, folder)
    # The operator's settings file, made from the template as the compose file says.
    shutil.copy(folder / "visio.env.example", folder / "visio.env")
    env = {**os.environ, "POSTGRES_PASSWORD": "compose-check"}
    command = [*_compose_command(), "-f", str(folder / "compose.yaml")]
    done = subprocess.run([*command, "config"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    rendered = done.stdout
    for service in ("postgres:", "web1:", "web2:", "worker:", "nginx:"):
        assert re.search(rf"^  {service}", rendered, re.MULTILINE), service
    assert "visio db upgrade && exec visio worker" in rendered
    # Without the database password the file refuses to render, naming what is missing.
    env.pop("POSTGRES_PASSWORD")
    refused = subprocess.run(
        [*command, "config"], capture_output=True, text=True, env=env, timeout=60
    )
    assert refused.returncode != 0
    assert "POSTGRES_PASSWORD" in refused.stderr


def test_nginx_accepts_the_compose_site(tmp_path: Path) -> None:
    self_signed(tmp_path)
    site = (DEPLOY / "compose.nginx.conf").read_text()
    site = site.replace("/etc/ssl/visio/", f"{tmp_path}/")
    # The containers' names resolve only inside compose's network; here, loopback.
    site = site.replace("web1:8080", "127.0.0.1:18081").replace("web2:8080", "127.0.0.1:18082")
    done = nginx_check(tmp_path, site)
    assert done.returncode == 0, done.stderr


def _containerfile() -> tuple[list[str], str, list[str]]:
    """The Containerfile's stages, its install command and its start command."""
    text = (DEPLOY / "Containerfile").read_text()
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    stages = [line for line in lines if line.startswith("FROM ")]
    install = next(line[4:] for line in lines if line.startswith("RUN python -m venv"))
    start = next(json.loads(line[4:]) for line in lines if line.startswith("CMD "))
    assert any(re.fullmatch(r"USER (?!0$|root$)\S+", line) for line in lines), "a non-root user"
    return stages, install, start


def test_the_containerfile_installs_and_starts_visio(tmp_path: Path) -> None:
    stages, install, start = _containerfile()
    assert len(stages) == 2 and stages[0].endswith(" AS build"), "a two-stage build"
    # The build context as the Containerfile copies it, and nothing more.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "visio", source / "visio", ignore=shutil.ignore_patterns("__pycache__"))
    prefix = tmp_path / "opt"
    install = install.replace("/opt/visio", str(prefix / "visio")).replace("/src", str(source))
    install = install.replace("python -m venv", f"{shlex.quote(sys.executable)} -m venv", 1)
    shell = _tool("sh")
    built = subprocess.run(
        [shell, "-c", install], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]

    assert start[:2] == ["sh", "-c"]
    port = free_port()
    command = start[2].replace("--host 0.0.0.0", "--host 127.0.0.1")
    command = command.replace("--port 8080", f"--port {port}")
    env = environment(
        PATH=f"{prefix / 'visio' / '.venv' / 'bin'}:{os.environ['PATH']}",
        VISIO_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'visio.db'}",
        VISIO_SECRET_KEY="container-check-" + "z" * 40,
        VISIO_BASE_URL=f"http://127.0.0.1:{port}",
    )
    log = tmp_path / "visio.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [shell, "-c", command], env=env, cwd=tmp_path, stdout=output, stderr=output, text=True
        )
    try:
        assert wait_for(f"http://127.0.0.1:{port}/readyz", process, seconds=60) == 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    # `exec` makes visio the container's main process: it gets docker's SIGTERM itself.
    assert process.returncode == 0, log.read_text()
