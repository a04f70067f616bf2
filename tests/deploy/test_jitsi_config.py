"""deploy/jitsi/: the Prosody configuration of a self-hosted Jitsi Meet for visio's tokens is
Lua that Prosody can load, and it holds the design visio's links rely on (see
deploy/jitsi/README.md): only visio's tokens sign in on the main domain, with visio's app
id; a guest domain for the station; token checks, token roles, the wait for the host and
the lobby on the conferences. The config.js and jicofo files agree with it.

Prosody's configuration is read here by Debian's Lua 5.4 (the Lua of Debian 12's Prosody),
in an environment that behaves as Prosody's loader (tests/deploy/prosody_config.lua). In CI
a missing `lua5.4` or `luac5.4` fails these tests rather than skipping them.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from tests.deploy.test_deploy_files import _tool

ROOT = Path(__file__).parents[2]
JITSI = ROOT / "deploy" / "jitsi"
PROSODY = JITSI / "prosody-visio.cfg.lua"
LOADER = Path(__file__).parent / "prosody_config.lua"

Sections = dict[str, dict[str, str]]


def load(path: Path) -> Sections:
    """Every section of a Prosody configuration and its options, as Prosody reads them."""
    done = subprocess.run(
        [_tool("lua5.4"), str(LOADER), str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    sections: defaultdict[str, dict[str, str]] = defaultdict(dict)
    for line in done.stdout.splitlines():
        section, option, value = line.split("\t")
        sections[section][option] = value
    return dict(sections)


def modules(section: dict[str, str]) -> list[str]:
    return section.get("modules_enabled", "").split("|")


@pytest.fixture(scope="module")
def prosody() -> Sections:
    return load(PROSODY)


def test_luac_parses_the_prosody_file() -> None:
    done = subprocess.run(
        [_tool("luac5.4"), "-p", str(PROSODY)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a missing quote: Lua refuses to parse it
        ('VirtualHost "meet.example.org\n', "unfinished string"),
        # the same host twice: Prosody refuses to start
        ('VirtualHost "a.example"\nVirtualHost "a.example"\n', "declared twice"),
        # a component whose module is not a string
        ('Component "c.example" (muc)\n', "must be a string"),
    ],
)
def test_the_loader_refuses_what_prosody_refuses(tmp_path: Path, text: str, message: str) -> None:
    broken = tmp_path / "broken.cfg.lua"
    broken.write_text(text)
    done = subprocess.run(
        [_tool("lua5.4"), str(LOADER), str(broken)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0 and message in done.stderr


def test_only_visio_tokens_sign_in_on_the_main_domain(prosody: Sections) -> None:
    domain = prosody["*"]["muc_mapper_domain_base"]
    main = prosody[domain]
    assert main["@kind"] == "VirtualHost"
    assert main["authentication"] == "token"
    # no token, no sign-in on the main domain: a browser without one is a guest
    assert main["allow_empty_token"] == "false"
    # the secret is the operator's to set: none is written in the repository
    assert main["app_secret"] == "__VISIO_JITSI_APP_SECRET__"
    assert "/usr/share/jitsi-meet/prosody-plugins/" in prosody["*"]["plugin_paths"].split("|")


def test_the_app_id_is_the_one_of_the_environment_template(prosody: Sections) -> None:
    template = (ROOT / "deploy" / "visio.env.example").read_text()
    app_id = re.search(r"^VISIO_JITSI_APP_ID=(.*)$", template, re.MULTILINE)
    assert app_id is not None and app_id.group(1).strip()
    main = prosody[prosody["*"]["muc_mapper_domain_base"]]
    # Prosody checks the token's `iss` against app_id: visio writes VISIO_JITSI_APP_ID there
    assert main["app_id"] == app_id.group(1).strip()
    # and the template holds no secret either
    assert re.search(r"^VISIO_JITSI_APP_SECRET=$", template, re.MULTILINE)


def test_the_station_has_a_guest_domain(prosody: Sections) -> None:
    domain = prosody["*"]["muc_mapper_domain_base"]
    guest = prosody[f"guest.{domain}"]
    assert guest["@kind"] == "VirtualHost"
    assert guest["authentication"] == "jitsi-anonymous"
    # a guest domain that loaded the token or lobby modules would be a second main domain
    assert "modules_enabled" not in guest and "app_secret" not in guest


def test_the_conferences_check_tokens_give_roles_and_wait_for_the_host(
    prosody: Sections,
) -> None:
    domain = prosody["*"]["muc_mapper_domain_base"]
    conference = prosody[f"conference.{domain}"]
    assert conference["@kind"] == "muc"
    enabled = modules(conference)
    for module in ("token_verification", "token_affiliation", "muc_wait_for_host"):
        assert module in enabled, module
    # a guest cannot change the room's settings (moderator, lobby, password) without a token
    assert conference["token_verification_require_token_for_moderation"] == "true"
    assert conference["restrict_room_creation"] == "true"
    assert conference["storage"] == "memory"


def test_the_lobby_the_guests_wait_in_is_where_the_modules_look_for_it(
    prosody: Sections,
) -> None:
    domain = prosody["*"]["muc_mapper_domain_base"]
    main = prosody[domain]
    enabled = modules(main)
    assert "muc_lobby_rooms" in enabled and "persistent_lobby" in enabled
    # persistent_lobby would load room_destroy itself: named first, it is loaded once
    assert enabled.index("room_destroy") < enabled.index("persistent_lobby")
    # muc_wait_for_host looks for "lobby.<main domain>", the lobby for its two rooms here
    assert main["lobby_muc"] == f"lobby.{domain}"
    assert main["main_muc"] == f"conference.{domain}"
    assert prosody[f"lobby.{domain}"]["@kind"] == "muc"


def test_config_js_sends_a_browser_without_token_to_the_guest_domain(prosody: Sections) -> None:
    domain = prosody["*"]["muc_mapper_domain_base"]
    config = (JITSI / "config-visio.js").read_text()
    settings = dict(re.findall(r"^\s*(\w+): '([^']*)',", config, re.MULTILINE))
    assert settings == {
        "domain": domain,
        "anonymousdomain": f"guest.{domain}",
        "muc": f"conference.{domain}",
    }
    assert re.search(r"^\s*autoKnock: true,", config, re.MULTILINE)
    assert re.search(r"^\s*disableInviteFunctions: true,", config, re.MULTILINE)


def test_jicofo_makes_nobody_owner_on_its_own() -> None:
    text = (JITSI / "jicofo-visio.conf").read_text()
    lines = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    assert "enable-auto-owner = false" in lines
    # the handbook: jicofo's authentication stays off with token authentication
    assert not any(line.startswith("authentication") for line in lines)
