"""Join tokens decoded with PyJWT claim by claim, for the agent and for the station."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.handlers.conftest import World, book
from visio.settings import Settings

SECRET = "a-jitsi-app-secret-of-at-least-32-bytes!!"


@pytest.fixture
def settings(database_url: str) -> Settings:
    from tests.conftest import SECRET as KEY

    return Settings(
        database_url=database_url,
        secret_key=KEY,
        run_worker=False,
        jitsi_domain="visio-meet.example.org",
        jitsi_app_id="visio",
        jitsi_app_secret=SECRET,
    )


async def test_join_tokens_claim_by_claim(client: Any, world: World) -> None:
    body = await book(client, world)
    path = f"/api/v1/appointments/{body['id']}/join"
    agent_side = await (
        await client.get(path, params={"as": "agent"}, headers=world.agent_headers)
    ).json()
    station = await (await client.get(path, params={"as": "station"}, headers=world.headers)).json()
    start = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    for side, moderator in ((agent_side, True), (station, False)):
        assert side["url"] == (f"https://visio-meet.example.org/{body['room']}?jwt={side['jwt']}")
        header = jwt.get_unverified_header(side["jwt"])
        assert header["typ"] == "JWT" and header["alg"] == "HS256"
        claims = jwt.decode(
            side["jwt"],
            SECRET,
            algorithms=["HS256"],
            audience="jitsi",
            options={"verify_exp": False, "verify_nbf": False},
        )
        assert claims["iss"] == "visio"
        assert claims["sub"] == "visio-meet.example.org"
        assert claims["room"] == body["room"]
        assert claims["moderator"] is moderator
        assert claims["context"]["user"]["moderator"] == ("true" if moderator else "false")
        assert all(isinstance(v, str) for v in claims["context"]["user"].values())
        assert claims["nbf"] < start.timestamp() < claims["exp"]
        assert claims["exp"] >= (start + timedelta(minutes=30)).timestamp()
    agent_user = jwt.decode(
        agent_side["jwt"],
        SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        options={"verify_exp": False, "verify_nbf": False},
    )["context"]["user"]
    assert agent_user["name"] == "Isabelle Delmas"
    assert agent_user["email"] == "isabelle.delmas@caf.example"
    station_user = jwt.decode(
        station["jwt"],
        SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert station_user["context"]["user"]["name"] == "France Services Murat"
    assert "email" not in station_user["context"]["user"]
    assert "Chassang" not in station["jwt"] and "Chassang" not in str(station_user)
