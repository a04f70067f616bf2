"""The operator's nginx site (`deploy/visio.nginx.conf`) run on loopback, as it is written.

Used by the scale-out test (tests/scaleout) and the scale-out bench (bench/bench_scaleout.py):
both start Debian's nginx with `nginx -p FOLDER -c FOLDER/nginx.conf`, as any user, with
everything nginx writes kept in FOLDER.

- `nginx_site(...)`: the site with this machine's ports, a test certificate, the visio
  ports of the upstream and this checkout's static folder; nothing else changed.
- `nginx_conf(...)`: nginx's main file around it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
SITE = CHECKOUT / "deploy" / "visio.nginx.conf"
STATIC = CHECKOUT / "visio" / "static"


def nginx_site(
    certificate: Path, key: Path, *, http: int, https: int, upstreams: list[int]
) -> str:  # fmt: skip
    """The operator's site with this machine's addresses, ports, certificate and static
    folder. The upstream lists `upstreams` (one port or several), each with the options the
    site gives its servers."""
    site = SITE.read_text()
    site = site.replace("/etc/ssl/visio/fullchain.pem", str(certificate))
    site = site.replace("/etc/ssl/visio/privkey.pem", str(key))
    site = re.sub(r"listen \[::\]:\d+[^;]*;\n", "", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http};")
    site = site.replace("listen 443 ", f"listen 127.0.0.1:{https} ")
    servers = re.search(r"(?:( *server 127\.0\.0\.1:)\d+( [^;]*;\n))+", site)
    assert servers is not None and upstreams, "the site's upstream changed: adapt this module"
    indent, options = servers.group(1), servers.group(2)
    listed = "".join(f"{indent}{port}{options}" for port in upstreams)
    site = site[: servers.start()] + listed + site[servers.end() :]
    alias = re.search(r"alias (\S+);", site)
    assert alias is not None
    return site.replace(alias.group(1), f"{STATIC}/")


def nginx_conf(folder: Path, site: Path, *, worker_processes: str | None = None) -> str:
    """nginx's main file, everything in `folder` (which holds an empty `temp/`); the access
    log has the id it sent on. `worker_processes` as nginx reads it ("auto", "2"); nginx's
    own default (one) when None."""
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/temp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Run as root (as CI does), the workers stay root: the folder is not theirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    workers = f"worker_processes {worker_processes};\n" if worker_processes else ""
    return (
        f"{user}{workers}daemon off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/nginx-error.log;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        # As Debian's own nginx.conf: the static files' types.
        "    include /etc/nginx/mime.types;\n"
        "    log_format ids '$request_id $status $request_method $request_uri';\n"
        f"    access_log {folder}/access.log ids;\n"
        f"{temp}\n"
        f"    include {site};\n"
        "}\n"
    )
