"""Outbox messages keep the facts they report, worded when they are sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from babel.dates import format_datetime
from icalendar import Calendar, Event, vCalAddress, vText

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.alter_column("subject", existing_type=sa.Text(), server_default="")
        batch_op.alter_column("body_text", existing_type=sa.Text(), server_default="")


def downgrade() -> None:
    # Messages queued as facts cannot be sent (nor shown) by the previous version: they are
    # worded here so that none is lost on the way back.
    connection = op.get_bind()
    outbox = sa.table(
        "outbox_messages",
        sa.column("id", sa.Integer),
        sa.column("payload", sa.JSON),
        sa.column("recipient_name", sa.String),
        sa.column("recipient_email", sa.String),
        sa.column("subject", sa.Text),
        sa.column("body_text", sa.Text),
        sa.column("body_html", sa.Text),
        sa.column("ics", sa.Text),
        sa.column("ics_method", sa.String),
    )
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.payload, outbox.c.recipient_name, outbox.c.recipient_email)
        .where(outbox.c.payload.is_not(None))
    ).all()  # fmt: skip
    for row_id, payload, name, email in rows:
        if payload is None:  # JSON null: a message queued already worded
            continue
        worded = _worded(payload, name, email)
        connection.execute(sa.update(outbox).where(outbox.c.id == row_id).values(**worded))
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("body_text", existing_type=sa.Text(), server_default=None)
        batch_op.alter_column("subject", existing_type=sa.Text(), server_default=None)
        batch_op.drop_column("payload")


# ------------------------------------------------------------------------------------------
# The wording of the facts, frozen as this revision was written. A migration must do
# tomorrow what it did that day, so this is a copy, not an import of visio.notify: it says
# the same things as the email templates of 2026-11 (templates/emails/), more plainly.
# The facts (payload) are: {"template": booked|rescheduled|cancelled|reminder,
# "context": {...}, "invitation": {...} or null}, as visio.services.notifications wrote them.

WORDS = {
    "en": {
        "subject booked agent": "Visio appointment at {site} on {when}",
        "subject booked citizen": "Your visio appointment with {partner} on {when}",
        "subject reminder agent": "Reminder: visio appointment at {site} on {when}",
        "subject reminder citizen": "Reminder: your visio appointment with {partner} on {when}",
        "subject cancelled": "Cancelled: visio appointment on {when}",
        "subject rescheduled": "Moved: visio appointment now on {when}",
        "subject other": "Visio appointment on {when}",
        "booked agent": "A citizen has been booked with you, by video from {site}.",
        "booked citizen": "Your appointment by video with {partner} is booked.",
        "reminder": "A reminder of your visio appointment:",
        "cancelled": "The visio appointment below is cancelled.",
        "rescheduled": "Your visio appointment of {before} has moved. The new time:",
        "hello": "Hello {name},",
        "reason": "Reason:",
        "when": "When:",
        "at the house": "At the house:",
        "partner": "Partner:",
        "house": "France Services house:",
        "citizen": "Citizen:",
        "join": "Join from your office (sign-in needed):",
        "early": "Come to the house a few minutes early; the desk will seat you at the visio"
        " station.",
        "bring": "Please bring:",
        "reference": "Reference:",
    },
    "fr": {
        "subject booked agent": "Rendez-vous en visio à {site} le {when}",
        "subject booked citizen": "Votre rendez-vous en visio avec {partner} le {when}",
        "subject reminder agent": "Rappel : rendez-vous en visio à {site} le {when}",
        "subject reminder citizen": "Rappel : votre rendez-vous en visio avec {partner} le {when}",
        "subject cancelled": "Annulé : rendez-vous en visio du {when}",
        "subject rescheduled": "Déplacé : rendez-vous en visio désormais le {when}",
        "subject other": "Rendez-vous en visio le {when}",
        "booked agent": "Un usager a rendez-vous avec vous, en visio depuis {site}.",
        "booked citizen": "Votre rendez-vous en visio avec {partner} est réservé.",
        "reminder": "Pour rappel, votre rendez-vous en visio :",
        "cancelled": "Le rendez-vous en visio ci-dessous est annulé.",
        "rescheduled": "Votre rendez-vous en visio du {before} a été déplacé. Le nouvel horaire :",
        "hello": "Bonjour {name},",
        "reason": "Motif :",
        "when": "Quand :",
        "at the house": "À la maison :",
        "partner": "Partenaire :",
        "house": "Maison France Services :",
        "citizen": "Usager :",
        "join": "Rejoindre depuis votre bureau (connexion requise) :",
        "early": "Présentez-vous à la maison quelques minutes en avance ; l'accueil vous"
        " installera au poste visio.",
        "bring": "Merci d'apporter :",
        "reference": "Référence :",
    },
}

PRODUCT_ID = "-//visio//France Services visio//FR"


def _when(instant: str, zone: str, locale: str, style: str) -> str:
    """An ISO 8601 instant of the facts, as a reader of `locale` reads it in `zone`."""
    tz = ZoneInfo(zone)
    moment = datetime.fromisoformat(instant).astimezone(tz)
    return format_datetime(moment, style, tzinfo=tz, locale=locale)


def _worded(payload: dict[str, Any], name: str, email: str) -> dict[str, Any]:
    """The columns of the previous version (subject, bodies, invitation) for one message."""
    template, facts = payload["template"], payload["context"]
    locale = facts["locale"] if facts.get("locale") in WORDS else "fr"
    words = WORDS[locale]
    site, partner, motive = facts["site"], facts["partner"], facts["motive"]
    for_agent = bool(facts.get("for_agent"))
    audience = "agent" if for_agent else "citizen"
    zone = facts.get("zone") or site["timezone"]
    start = facts["start"]
    subject = (
        words.get(f"subject {template} {audience}")
        or words.get(f"subject {template}")
        or words["subject other"]
    ).format(site=site["name"], partner=partner["name"], when=_when(start, zone, locale, "short"))

    # What the message says, in the order of the templates: paragraphs (str) and labelled
    # facts (label, value), a value being a text or a list of documents to bring.
    blocks: list[str | tuple[str, str | list[str]]] = [
        words["hello"].format(name=facts.get("recipient_name") or name)
    ]
    intro = words.get(f"{template} {audience}") or words.get(template)
    if intro:
        before = facts.get("previous_start")
        blocks.append(
            intro.format(
                site=site["name"],
                partner=partner["name"],
                before=_when(before, zone, locale, "short") if before else "",
            )
        )
    if facts.get("reason"):
        blocks.append((words["reason"], facts["reason"]))
    blocks.append((words["when"], _when(start, zone, locale, "full")))
    if for_agent and zone != site["timezone"]:
        blocks.append((words["at the house"], _when(start, site["timezone"], locale, "short")))
    blocks.append((words["partner"], f"{partner['name']} — {motive['name']}"))
    address = f", {site['address']}" if site.get("address") else ""
    blocks.append((words["house"], site["name"] + address))
    if for_agent:
        if facts.get("citizen_name"):
            blocks.append((words["citizen"], facts["citizen_name"]))
        if facts.get("join_url"):
            blocks.append((words["join"], facts["join_url"]))
    else:
        blocks.append(words["early"])
        if facts.get("documents"):
            blocks.append((words["bring"], list(facts["documents"])))
        if facts.get("instructions"):
            blocks.append(facts["instructions"])
    blocks.append(f"{words['reference']} {facts.get('reference') or ''}")

    text = _text(blocks)
    invitation = payload.get("invitation")
    return {
        "subject": subject,
        "body_text": text,
        "body_html": _html(blocks, locale, site["name"]),
        "ics": _ics(invitation, start, facts["end"], text, name, email) if invitation else None,
        "ics_method": invitation["method"] if invitation else None,
    }


def _text(blocks: list[str | tuple[str, str | list[str]]]) -> str:
    """Labelled facts one a line, paragraphs apart, documents as a dashed list."""
    lines = []
    for block in blocks:
        if isinstance(block, str):
            lines += ["", block, ""]
        elif isinstance(block[1], list):
            lines += [block[0], *(f"- {document}" for document in block[1])]
        else:
            lines.append(f"{block[0]} {block[1]}")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _html(blocks: list[str | tuple[str, str | list[str]]], locale: str, site_name: str) -> str:
    """The same, as a simple HTML page; the join link is a link."""
    parts = []
    for block in blocks:
        if isinstance(block, str):
            parts.append(f"<p>{escape(block)}</p>")
            continue
        label, value = escape(block[0]), block[1]
        if isinstance(value, list):
            items = "".join(f"<li>{escape(document)}</li>" for document in value)
            parts.append(f"<p><strong>{label}</strong></p>\n<ul>{items}</ul>")
        elif value.startswith(("https://", "http://")):
            parts.append(
                f'<p><strong>{label}</strong> <a href="{escape(value)}">{escape(value)}</a></p>'
            )
        else:
            parts.append(f"<p><strong>{label}</strong> {escape(value)}</p>")
    return (
        f'<!doctype html>\n<html lang="{locale}">\n'
        '<head><meta charset="utf-8"><title>visio</title></head>\n'
        '<body style="font-family:Arial,sans-serif;color:#161616;line-height:1.5">\n'
        + "\n".join(parts)
        + f'\n<p style="color:#555;font-size:90%">visio · {escape(site_name)}</p>\n'
        "</body>\n</html>\n"
    )


def _ics(
    invitation: dict[str, Any], start: str, end: str, description: str, name: str, email: str
) -> str:
    """The calendar invitation (RFC 5546): the event's UID and SEQUENCE as queued,
    METHOD:REQUEST while it stands and METHOD:CANCEL when it is called off."""

    def address(person_name: str, person_email: str) -> vCalAddress:
        found = vCalAddress(f"mailto:{person_email}")
        found.params["cn"] = vText(person_name)
        return found

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", invitation["method"])
    event = Event()
    event.add("uid", invitation["uid"])
    event.add("sequence", invitation["sequence"])
    event.add("dtstamp", datetime.fromisoformat(invitation["stamp"]).astimezone(UTC))
    event.add("dtstart", datetime.fromisoformat(start).astimezone(UTC))
    event.add("dtend", datetime.fromisoformat(end).astimezone(UTC))
    event.add("summary", invitation["summary"])
    event.add("description", description)
    event.add("location", invitation["location"])
    if invitation.get("url"):
        event.add("url", invitation["url"])
    event.add("status", "CANCELLED" if invitation["method"] == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = invitation["organizer"]
    event["organizer"] = address(organizer["name"], organizer["email"])
    attendee = address(name, email)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    ics: str = calendar.to_ical().decode("utf-8")
    return ics
