"""Calendar invitations parse back to what was meant, version after version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from visio.notify.ics import Attendee, Invitation, build_ics

NOW = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def invitation(**changes: object) -> Invitation:
    values: dict[str, object] = {
        "uid": "appointment-42@visio.example.org",
        "sequence": 0,
        "method": "REQUEST",
        "start": datetime(2026, 3, 30, 9, 0, tzinfo=PARIS),  # summer time: 07:00 UTC
        "end": datetime(2026, 3, 30, 9, 30, tzinfo=PARIS),
        "summary": "Visio – CAF – Prime d'activité",
        "description": "Rejoindre : https://visio.example.org/appointments/42/join/agent",
        "location": "https://visio.example.org/appointments/42/join/agent",
        "organizer": Attendee("France Services Murat", "murat@hautesterres.example"),
        "attendees": (Attendee("Isabelle Delmas", "isabelle.delmas@caf.example"),),
        "url": "https://visio.example.org/appointments/42/join/agent",
    }
    values.update(changes)
    return Invitation(**values)  # type: ignore[arg-type]


def parse(text: str) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(text)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_a_request_says_who_when_and_where() -> None:
    calendar, event = parse(build_ics(invitation(), NOW))
    assert calendar["method"] == "REQUEST"
    assert event["uid"] == "appointment-42@visio.example.org"  # type: ignore[index]
    assert event["sequence"] == 0  # type: ignore[index]
    assert event.decoded("dtstart") == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert event.decoded("dtend") == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    assert str(event["status"]) == "CONFIRMED"  # type: ignore[index]
    assert str(event["organizer"]) == "mailto:murat@hautesterres.example"  # type: ignore[index]
    assert event["organizer"].params["cn"] == "France Services Murat"  # type: ignore[index]
    attendee = event["attendee"]  # type: ignore[index]
    assert str(attendee) == "mailto:isabelle.delmas@caf.example"
    assert "join/agent" in str(event["location"]) and "join/agent" in str(event["url"])  # type: ignore[index]
    assert "Prime d'activité" in str(event["summary"])  # type: ignore[index]


def test_a_move_keeps_the_uid_and_raises_the_sequence() -> None:
    first = parse(build_ics(invitation(), NOW))[1]
    moved = parse(
        build_ics(
            invitation(
                sequence=1,
                start=datetime(2026, 3, 30, 10, 0, tzinfo=PARIS),
                end=datetime(2026, 3, 30, 10, 30, tzinfo=PARIS),
            ),
            NOW + timedelta(hours=1),
        )
    )[1]
    assert moved["uid"] == first["uid"]  # type: ignore[index]
    assert moved["sequence"] > first["sequence"]  # type: ignore[index]
    assert moved.decoded("dtstart") == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # type: ignore[attr-defined]


def test_a_cancellation_is_method_cancel() -> None:
    calendar, event = parse(build_ics(invitation(method="CANCEL", sequence=2), NOW))
    assert calendar["method"] == "CANCEL"
    assert str(event["status"]) == "CANCELLED"  # type: ignore[index]
    assert event["sequence"] == 2  # type: ignore[index]


@pytest.mark.parametrize(
    "changes",
    [
        {"start": datetime(2026, 3, 30, 9, 0)},
        {"end": datetime(2026, 3, 30, 8, 0, tzinfo=PARIS)},  # before the start
        {"sequence": -1},
    ],
)
def test_impossible_invitations_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        build_ics(invitation(**changes), NOW)


def test_text_with_commas_semicolons_and_newlines_survives() -> None:
    description = "Apporter : carte Vitale; avis d'imposition, RIB\nMerci."
    event = parse(build_ics(invitation(description=description), NOW))[1]
    assert str(event["description"]) == description  # type: ignore[index]
