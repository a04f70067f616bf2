"""Administrators' pages for accounts (the list, a new account, an account with its API
tokens, its open sessions and its password reset link), and the page where a person sets
a new password with such a link.

The accounts service decides what is allowed and checks each change as the JSON API
does; these pages only read the forms and show its answers, problems beside their fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from visio import web_session
from visio.handlers.api import current_actor, match_int, now
from visio.handlers.render import ROLE_LABELS, posted_form, render
from visio.handlers.schemas import UserCreate, UserListQuery, UserPatch
from visio.handlers.validation import fields_of, parse_query
from visio.i18n import format_date, format_time
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LINKS, SETTINGS
from visio.services import accounts, password_resets, sessions, setup
from visio.services.errors import InvalidInput
from visio.services.permissions import Action, Actor, require
from visio.services.records import IssuedReset, UserView

USERS_PER_PAGE = 25

DONE = {
    "created": _l("The account is created. Send its owner a password reset link so they can "
                  "choose their password."),
    "saved": _l("The account is saved."),
    "revoked": _l("The API token is revoked: it is refused from now on."),
    "sessions_ended": _l("The account's sessions are closed: it must sign in again."),
    "sent": _l("A password reset link is on its way to the account's email address; it works "
               "once, within 24 hours."),
}  # fmt: skip
STATES = {
    "active": _l("Active accounts"),
    "inactive": _l("Disabled accounts"),
    "all": _l("All accounts"),
}


def _admin(request: web.Request) -> Actor:
    """The signed-in administrator: anyone else is refused before anything is read, as the
    JSON API refuses them (nobody signed in: to the sign-in page)."""
    actor = current_actor(request)
    require(actor, Action.MANAGE_USERS)
    return actor


def _private(response: web.Response) -> web.Response:
    # Accounts' details, or a link that sets a password: kept by no cache, shown again by
    # no back button.
    response.headers["Cache-Control"] = "no-store"
    return response


def _moment(request: web.Request, instant: datetime) -> str:
    """An instant as the pages write it, in the network's time zone."""
    zone = request.app[SETTINGS].default_timezone
    return f"{format_date(instant.date(), style='medium')} {format_time(instant, zone)}"


# ---------------------------------------------------------------- the list


async def users_page(request: web.Request) -> web.Response:
    """Accounts by name: a search in names and emails, a role, a house, active or
    disabled, a page at a time."""
    actor = _admin(request)
    known = ("q", "role", "site_id", "state", "page")
    query = parse_query(UserListQuery, {k: v for k in known if (v := request.query.get(k))})
    session = request[DB]
    found = await accounts.find_users(
        session, actor, search=query.q, role=query.role, site_id=query.site_id,
        state=query.state, page=query.page, per_page=USERS_PER_PAGE,
    )  # fmt: skip
    sites = (await setup.find_sites(session, actor, state="all")).items
    house_names = {site.id: site.name for site in sites}

    def page_url(number: int) -> str:
        return str(request.rel_url.update_query(page=str(number)))

    context = {
        "found": found,
        "rows": [
            (user, [house_names.get(i, str(i)) for i in user.site_ids]) for user in found.items
        ],
        "query": query,
        "roles": [(role.value, str(label)) for role, label in ROLE_LABELS.items()],
        "sites": sites,
        "states": [(value, str(label)) for value, label in STATES.items()],
        # Past the last page (the list got shorter), "previous" leads back to the last one.
        "previous_page": page_url(min(found.page - 1, found.pages)) if found.page > 1 else None,
        "next_page": page_url(found.page + 1) if found.page < found.pages else None,
    }
    return _private(render("admin_users.html", request, context))


# ---------------------------------------------------------------- one account


@dataclass(frozen=True, slots=True)
class AccountForm:
    """An account's form as typed (or as the account stands), kept as text to show again."""

    name: str = ""
    email: str = ""
    role: str = ""
    site_ids: tuple[str, ...] = ()
    agent_id: str = ""
    locale: str = "fr"
    active: bool = True

    @classmethod
    def posted(cls, form: MultiMapping[object]) -> AccountForm:
        return cls(
            name=str(form.get("name", "")).strip(),
            email=str(form.get("email", "")).strip(),
            role=str(form.get("role", "")),
            site_ids=tuple(str(value) for value in form.getall("site_ids", [])),
            agent_id=str(form.get("agent_id", "")),
            locale=str(form.get("locale", "fr")),
            active=form.get("active") == "1",
        )

    @classmethod
    def of(cls, user: UserView) -> AccountForm:
        return cls(
            name=user.name, email=user.email, role=user.role.value,
            site_ids=tuple(str(i) for i in user.site_ids),
            agent_id="" if user.agent_id is None else str(user.agent_id),
            locale=user.locale, active=user.active,
        )  # fmt: skip

    def values(self) -> dict[str, object]:
        """The fields as the account's request models read them."""
        return {
            "name": self.name, "email": self.email, "role": self.role,
            "site_ids": list(self.site_ids), "agent_id": self.agent_id or None,
            "locale": self.locale,
        }  # fmt: skip


# The fields of the form, in their order on the page (the error summary follows it).
FORM_FIELDS = ("name", "email", "role", "site_ids", "agent_id", "locale", "active")


def _problems(error: ValidationError | InvalidInput) -> dict[str, str]:
    """One message per field of the form (`site_ids.2` is the houses' field)."""
    found = fields_of(error) if isinstance(error, ValidationError) else error.fields
    problems: dict[str, str] = {}
    for path, message in found.items():
        name = path.split(".", 1)[0]
        problems.setdefault(name if name in FORM_FIELDS else "name", str(message))
    return problems


async def _account_page(
    request: web.Request,
    actor: Actor,
    *,
    user: UserView | None,
    typed: AccountForm,
    errors: Mapping[str, str] | None = None,
    issued: IssuedReset | None = None,
    status: int = 200,
) -> web.Response:
    """The new account's form (`user` None), or an account with its form, its API tokens
    and its password reset link."""
    session = request[DB]
    sites = (await setup.find_sites(session, actor, state="all")).items
    agents = (await setup.find_agents(session, actor, state="all")).items
    partners = {partner.id: partner.name for partner in await setup.list_partners(session, actor)}
    tokens = []
    open_sessions = []
    if user is not None:
        tokens = [
            {
                "view": token,
                "created": _moment(request, token.created_at),
                "last_used": _moment(request, token.last_used_at) if token.last_used_at else None,
                "revoked": _moment(request, token.revoked_at) if token.revoked_at else None,
            }
            for token in await accounts.list_tokens(session, actor, user.id)
        ]
        open_sessions = [
            {
                "view": view,
                "started": _moment(request, view.created_at),
                "last_seen": _moment(request, view.last_seen_at),
            }
            for view in await sessions.list_sessions(session, actor, user.id, now=now(request))
        ]
    done = request.query.get("done", "")
    context = {
        "user": user,
        "created": _moment(request, user.created_at) if user is not None else None,
        "typed": typed,
        "errors": dict(errors or {}),
        "roles": [(role.value, str(label)) for role, label in ROLE_LABELS.items()],
        "sites": sites,
        "agents": [(agent, partners.get(agent.partner_id, "")) for agent in agents],
        "tokens": tokens,
        "sessions": open_sessions,
        "issued": issued,
        "issued_until": _moment(request, issued.expires_at) if issued is not None else None,
        "smtp_configured": request.app[SETTINGS].smtp_host is not None,
        "is_self": user is not None and user.id == actor.user_id,
        "done": str(DONE[done]) if done in DONE and not errors and issued is None else None,
    }
    return _private(render("admin_user.html", request, context, status=status))


def _to_account(request: web.Request, user_id: int, done: str) -> web.HTTPSeeOther:
    location = request.app.router["admin_user"].url_for(id=str(user_id)).with_query(done=done)
    return web.HTTPSeeOther(location=location)


async def new_user_form(request: web.Request) -> web.Response:
    actor = _admin(request)
    return await _account_page(request, actor, user=None, typed=AccountForm())


async def create_user(request: web.Request) -> web.StreamResponse:
    """Create the account, checked as the API checks it; refused: the form again, 422,
    what was typed kept and each problem beside its field."""
    actor = _admin(request)
    await posted_form(request)
    typed = AccountForm.posted(await request.post())
    try:
        checked = UserCreate.model_validate(typed.values())
        user = await accounts.create_user(
            request[DB], actor, email=checked.email, name=checked.name, role=checked.role,
            site_ids=checked.site_ids, agent_id=checked.agent_id, locale=checked.locale,
            now=now(request),
        )  # fmt: skip
    except (ValidationError, InvalidInput) as refused:
        return await _account_page(
            request, actor, user=None, typed=typed, errors=_problems(refused), status=422
        )
    raise _to_account(request, user.id, "created")


async def user_page(request: web.Request) -> web.Response:
    actor = _admin(request)
    user = await accounts.get_user(request[DB], actor, match_int(request, "id"))
    return await _account_page(request, actor, user=user, typed=AccountForm.of(user))


async def change_user(request: web.Request) -> web.StreamResponse:
    """Correct the account, or disable or enable it: every field of the form is given, the
    service checks them together (an administrator cannot disable or demote themselves)."""
    actor = _admin(request)
    user_id = match_int(request, "id")
    await posted_form(request)
    typed = AccountForm.posted(await request.post())
    session = request[DB]
    user = await accounts.get_user(session, actor, user_id)
    try:
        checked = UserPatch.model_validate({**typed.values(), "active": typed.active})
        given = {name: getattr(checked, name) for name in checked.model_fields_set}
        await accounts.change_user(
            session, actor, user_id, accounts.UserChanges(**given), now=now(request)
        )
    except (ValidationError, InvalidInput) as refused:
        return await _account_page(
            request, actor, user=user, typed=typed, errors=_problems(refused), status=422
        )
    raise _to_account(request, user_id, "saved")


async def revoke_token(request: web.Request) -> web.StreamResponse:
    actor = _admin(request)
    user_id = match_int(request, "id")
    await posted_form(request)
    await accounts.revoke_token(
        request[DB], actor, user_id, match_int(request, "token_id"), now=now(request)
    )
    raise _to_account(request, user_id, "revoked")


async def end_sessions(request: web.Request) -> web.StreamResponse:
    """Close every session of the account (audited): its browsers must sign in again."""
    actor = _admin(request)
    user_id = match_int(request, "id")
    await posted_form(request)
    await sessions.end_sessions_of(request[DB], actor, user_id, now=now(request))
    raise _to_account(request, user_id, "sessions_ended")


async def make_reset_link(request: web.Request) -> web.StreamResponse:
    """A password reset link for the account: emailed to its owner when an email server is
    configured; otherwise shown on the page, this once, for the administrator to hand over."""
    actor = _admin(request)
    user_id = match_int(request, "id")
    await posted_form(request)
    base_url = request.app[LINKS].base_url
    route = request.app.router["password_reset"]

    def link_for(token: str) -> str:
        return base_url + str(route.url_for(token=token))

    by_email = request.app[SETTINGS].smtp_host is not None
    session = request[DB]
    issued = await password_resets.issue_reset(
        session, actor, user_id, link_for=link_for, by_email=by_email, now=now(request)
    )
    if by_email:
        raise _to_account(request, user_id, "sent")
    user = await accounts.get_user(session, actor, user_id)
    return await _account_page(request, actor, user=user, typed=AccountForm.of(user),
                               issued=issued)  # fmt: skip


# ---------------------------------------------------------------- setting a new password


def _token(request: web.Request) -> str:
    return request.match_info["token"]


async def reset_form(request: web.Request) -> web.Response:
    """The form of a link still good; any other link: a plain 404 page, saying nothing of
    why."""
    token = _token(request)
    link = await password_resets.reset_link(request[DB], token, now=now(request))
    context = {"link": link, "token": token, "errors": {}, "minimum": accounts.MIN_PASSWORD_LENGTH}
    return _private(render("password_reset.html", request, context))


async def reset_submit(request: web.Request) -> web.StreamResponse:
    """Set the new password (typed twice); done: the link is spent and the person goes on
    to sign in with it."""
    form = await posted_form(request)
    token, moment = _token(request), now(request)
    password, again = form.get("password", ""), form.get("password_again", "")
    session = request[DB]
    try:
        await password_resets.reset_password(
            session, token, password, again=again, now=moment,
            session_token=web_session.session_token(request),
        )  # fmt: skip
    except InvalidInput as refused:
        link = await password_resets.reset_link(session, token, now=moment)
        errors = {name: str(message) for name, message in refused.fields.items()}
        context = {"link": link, "token": token, "errors": errors,
                   "minimum": accounts.MIN_PASSWORD_LENGTH}  # fmt: skip
        return _private(render("password_reset.html", request, context, status=422))
    raise web.HTTPSeeOther(location=request.app.router["password_changed"].url_for())


async def password_changed(request: web.Request) -> web.Response:
    context: dict[str, object] = {"link": None, "errors": {}}
    return render("password_reset.html", request, context)
