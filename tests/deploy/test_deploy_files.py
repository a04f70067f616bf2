"""The files an operator copies from `deploy/` are valid for the tools that read them:
systemd's own checker passes the units, Debian's nginx (1.22) accepts the site.

In CI a missing `systemd-analyze` or `nginx` fails these tests rather than skipping them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

DEPLOY = Path(__file__).parents[2] / "deploy"
VISIO = Path(sys.executable).parent / "visio"


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} is missing: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return found


def _units_here(folder: Path) -> list[Path]:
    """The units with the installed paths pointed at this checkout's visio."""
    env_file = folder / "visio.env"
    env_file.write_text("")
    units = []
    for source, name in (
        ("visio@.service", "visio@8081.service"),
        ("visio-worker.service", "visio-worker.service"),
    ):
        text = (DEPLOY / source).read_text()
        text = text.replace("/opt/visio/.venv/bin/visio", str(VISIO))
        text = text.replace("/etc/visio/visio.env", str(env_file))
        unit = folder / name
        unit.write_text(text)
        units.append(unit)
    return units


def test_systemd_accepts_the_units_without_a_warning(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    units = _units_here(tmp_path)
    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # systemd ignores an unknown or misspelt setting with a warning: none allowed.
    assert done.stderr.strip() == ""


def test_the_units_are_hardened(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    for unit in _units_here(tmp_path):
        done = subprocess.run(
            [analyze, "security", "--offline=true", "--no-pager", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        exposure = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
        assert exposure is not None, done.stdout + done.stderr
        # systemd rates 0 (confined) to 10 (exposed); under 2 is its "OK".
        assert float(exposure.group(1)) < 2.0, done.stdout


def test_only_the_worker_upgrades_the_schema_and_the_web_units_wait_for_it() -> None:
    web = (DEPLOY / "visio@.service").read_text()
    worker = (DEPLOY / "visio-worker.service").read_text()
    assert "db upgrade" in worker and "db upgrade" not in web
    assert re.search(r"^After=.*visio-worker\.service", web, re.MULTILINE)
    assert "VISIO_RUN_WORKER=false" in web


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and its key for localhost, made with openssl in `folder`."""
    openssl = _tool("openssl")
    certificate, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certificate, key


def nginx_check(folder: Path, site: str) -> subprocess.CompletedProcess[str]:
    """`nginx -t` of `site` inside an http block of its own, on loopback ports: its
    `listen 80;` and `listen 443 …` lines moved to 127.0.0.1:18080 and :18443."""
    nginx = _tool("nginx")
    site = re.sub(r"listen \[::\]:\d+[^;]*;\n", "", site)
    site = site.replace("listen 80;", "listen 127.0.0.1:18080;")
    site = site.replace("listen 443 ", "listen 127.0.0.1:18443 ")
    (folder / "site.conf").write_text(site)
    (folder / "logs").mkdir(exist_ok=True)
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/logs/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {folder}/site.conf;\n}}\n"
    )
    return subprocess.run(
        [nginx, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    certificate, key = self_signed(tmp_path)
    site = (DEPLOY / "visio.nginx.conf").read_text()
    site = site.replace("/etc/ssl/visio/fullchain.pem", str(certificate))
    site = site.replace("/etc/ssl/visio/privkey.pem", str(key))
    done = nginx_check(tmp_path, site)
    assert done.returncode == 0, done.stderr
    # Only the two lines of a clean check: no warning, no deprecation on this version.
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert all("syntax is ok" in line or "test is successful" in line for line in lines), lines
