"""Calendar invitations (iCalendar, RFC 5545 with the iTIP methods of RFC 5546).

Pure: no database, no clock of its own. One appointment is one calendar event for its
whole life: the same UID from booking to cancellation, a SEQUENCE that grows with each
change, METHOD:REQUEST while it stands and METHOD:CANCEL when it is called off, so
Outlook and Thunderbird update the event already in the agent's calendar instead of
adding a second one. Times are written in UTC, which every client converts to its
reader's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

PRODUCT_ID = "-//visio//France Services visio//FR"

Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True, slots=True)
class Attendee:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Invitation:
    """One version of an appointment's calendar event."""

    uid: str
    sequence: int
    method: Method
    start: datetime
    end: datetime
    summary: str
    description: str
    location: str
    organizer: Attendee
    attendees: Sequence[Attendee]
    url: str | None = None


def _address(person: Attendee) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    return address


def build_ics(invitation: Invitation, now: datetime) -> str:
    """The iCalendar text of `invitation`, stamped `now` (aware)."""
    calendar = _calendar(invitation.method)
    calendar.add_component(_event(invitation, now))
    text: str = calendar.to_ical().decode("utf-8")
    return text


def build_feed(events: Sequence[Invitation], now: datetime, name: str) -> str:
    """A subscribable calendar (METHOD:PUBLISH) holding `events`, named `name`; cancelled
    ones stay in it, marked so, until they leave its window."""
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", name)
    for invitation in events:
        calendar.add_component(_event(invitation, now))
    text: str = calendar.to_ical().decode("utf-8")
    return text


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _event(invitation: Invitation, now: datetime) -> Event:
    for name, moment in (("start", invitation.start), ("end", invitation.end), ("now", now)):
        if moment.tzinfo is None:
            raise ValueError(f"{name}: an aware datetime is required")
    if invitation.end <= invitation.start:
        raise ValueError("end: must come after start")
    if invitation.sequence < 0:
        raise ValueError("sequence: must not be negative")
    event = Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", invitation.start.astimezone(UTC))
    event.add("dtend", invitation.end.astimezone(UTC))
    event.add("summary", invitation.summary)
    event.add("description", invitation.description)
    event.add("location", invitation.location)
    if invitation.url:
        event.add("url", invitation.url)
    event.add("status", "CANCELLED" if invitation.method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event["organizer"] = _address(invitation.organizer)
    for person in invitation.attendees:
        address = _address(person)
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("FALSE")
        event.add("attendee", address, encode=False)
    return event
