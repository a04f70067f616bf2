"""The one named route table of visio: every path, its method, its handler and its name."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from visio.handlers import (
    accounts,
    admin_pages,
    agent_admin_pages,
    agent_pages,
    appointment_pages,
    appointments,
    audit,
    audit_pages,
    booking_pages,
    calendar_feed,
    health,
    import_pages,
    meeting_pages,
    openapi,
    pages,
    partner_pages,
    privacy_pages,
    setup,
    site_pages,
    slots,
    station_pages,
    statistics,
    stats_pages,
    tally_pages,
    user_pages,
)

ID = r"{id:\d+}"
STATIC_DIR = Path(__file__).parent.parent / "static"


def setup_routes(app: web.Application) -> None:
    """Register every route under its name; links are built from these names only."""
    add = app.router.add_route
    # Pages
    add("GET", "/", pages.home, name="home")
    add("GET", "/login", pages.login_form, name="login")
    add("POST", "/login", pages.login, name="login_submit")
    add("POST", "/logout", pages.logout, name="logout")
    add("GET", "/password/reset/{token}", user_pages.reset_form, name="password_reset")
    add("POST", "/password/reset/{token}", user_pages.reset_submit, name="password_reset_submit")
    add("GET", "/password/changed", user_pages.password_changed, name="password_changed")
    add("POST", "/language", pages.set_language, name="language")
    add("GET", "/privacy", privacy_pages.register, name="privacy")
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
    # Monitoring
    add("GET", "/healthz", health.healthz, name="healthz")
    add("GET", "/readyz", health.readyz, name="readyz")
    add("GET", "/metrics", health.metrics, name="metrics")
    add("GET", "/api/v1/openapi.json", openapi.openapi_document, name="openapi")
    # Accounts
    add("GET", "/api/v1/me", accounts.me, name="api_me")
    add("GET", "/api/v1/users", accounts.list_users, name="api_users")
    add("POST", "/api/v1/users", accounts.create_user, name="api_users_create")
    add("GET", f"/api/v1/users/{ID}", accounts.get_user, name="api_user")
    add("PATCH", f"/api/v1/users/{ID}", accounts.change_user, name="api_user_change")
    add("GET", f"/api/v1/users/{ID}/tokens", accounts.list_tokens, name="api_user_tokens")
    add("POST", f"/api/v1/users/{ID}/tokens", accounts.create_token, name="api_user_tokens_create")
    add(
        "DELETE",
        f"/api/v1/users/{ID}/tokens/{{token_id:\\d+}}",
        accounts.revoke_token,
        name="api_user_token_revoke",
    )
    # Set-up
    add("GET", "/api/v1/sites", setup.list_sites, name="api_sites")
    add("POST", "/api/v1/sites", setup.create_site, name="api_sites_create")
    add("GET", f"/api/v1/sites/{ID}", setup.get_site, name="api_site")
    add("PATCH", f"/api/v1/sites/{ID}", setup.change_site, name="api_site_change")
    add("DELETE", f"/api/v1/sites/{ID}", setup.delete_site, name="api_site_delete")
    add("POST", f"/api/v1/sites/{ID}/stations", setup.create_station, name="api_stations_create")
    station = f"/api/v1/sites/{ID}/stations/{{station_id:\\d+}}"
    add("PATCH", station, setup.change_station, name="api_station_change")
    add("DELETE", station, setup.delete_station, name="api_station_delete")
    add("GET", f"/api/v1/sites/{ID}/closures", setup.list_closures, name="api_closures")
    add("POST", f"/api/v1/sites/{ID}/closures", setup.create_closure, name="api_closures_create")
    closure = f"/api/v1/sites/{ID}/closures/{{closure_id:\\d+}}"
    add("DELETE", closure, setup.delete_closure, name="api_closure_delete")
    add("GET", "/api/v1/partners", setup.list_partners, name="api_partners")
    add("POST", "/api/v1/partners", setup.create_partner, name="api_partners_create")
    add("GET", f"/api/v1/partners/{ID}", setup.get_partner, name="api_partner")
    add("PATCH", f"/api/v1/partners/{ID}", setup.change_partner, name="api_partner_change")
    add("DELETE", f"/api/v1/partners/{ID}", setup.delete_partner, name="api_partner_delete")
    add("POST", f"/api/v1/partners/{ID}/motives", setup.create_motive, name="api_motives_create")
    add("GET", f"/api/v1/motives/{ID}", setup.get_motive, name="api_motive")
    add("PATCH", f"/api/v1/motives/{ID}", setup.change_motive, name="api_motive_change")
    add("DELETE", f"/api/v1/motives/{ID}", setup.delete_motive, name="api_motive_delete")
    add("GET", "/api/v1/agents", setup.list_agents, name="api_agents")
    add("POST", "/api/v1/agents", setup.create_agent, name="api_agents_create")
    add("GET", f"/api/v1/agents/{ID}", setup.get_agent, name="api_agent")
    add("PATCH", f"/api/v1/agents/{ID}", setup.change_agent, name="api_agent_change")
    add("DELETE", f"/api/v1/agents/{ID}", setup.delete_agent, name="api_agent_delete")
    add("GET", f"/api/v1/agents/{ID}/rules", setup.list_rules, name="api_rules")
    add("POST", f"/api/v1/agents/{ID}/rules", setup.create_rule, name="api_rules_create")
    rule = f"/api/v1/agents/{ID}/rules/{{rule_id:\\d+}}"
    add("PATCH", rule, setup.change_rule, name="api_rule_change")
    add("DELETE", rule, setup.delete_rule, name="api_rule_delete")
    add("GET", f"/api/v1/agents/{ID}/absences", setup.list_absences, name="api_absences")
    add("POST", f"/api/v1/agents/{ID}/absences", setup.create_absence, name="api_absences_create")
    absence = f"/api/v1/agents/{ID}/absences/{{absence_id:\\d+}}"
    add("DELETE", absence, setup.delete_absence, name="api_absence_delete")
    # Booking
    add("GET", "/api/v1/slots", slots.list_slots, name="api_slots")
    add("GET", "/api/v1/slots/first", slots.first_slots, name="api_slots_first")
    add("GET", "/api/v1/citizens", appointments.find_citizens, name="api_citizens")
    add(
        "POST",
        "/api/v1/appointments",
        appointments.create_appointment,
        name="api_appointments_create",
    )
    add("GET", "/api/v1/appointments", appointments.list_appointments, name="api_appointments")
    add("GET", f"/api/v1/appointments/{ID}", appointments.get_appointment, name="api_appointment")
    add(
        "POST",
        f"/api/v1/appointments/{ID}/cancel",
        appointments.cancel,
        name="api_appointment_cancel",
    )
    add(
        "POST",
        f"/api/v1/appointments/{ID}/reschedule",
        appointments.reschedule,
        name="api_appointment_reschedule",
    )
    add(
        "POST",
        f"/api/v1/appointments/{ID}/outcome",
        appointments.outcome,
        name="api_appointment_outcome",
    )
    add(
        "POST",
        f"/api/v1/appointments/{ID}/arrived",
        appointments.arrived,
        name="api_appointment_arrived",
    )
    add("GET", f"/api/v1/appointments/{ID}/join", appointments.join, name="api_appointment_join")
    # Pages around an appointment
    add("GET", "/desk", meeting_pages.desk, name="desk")
    add("GET", "/desk/status", meeting_pages.desk_status, name="desk_status")
    add("GET", "/desk/week", meeting_pages.desk_week, name="desk_week")
    add("GET", "/desk/book", booking_pages.book_start, name="desk_book")
    add("GET", "/desk/book/slots", booking_pages.book_slots, name="desk_book_slots")
    add("GET", "/desk/book/citizen", booking_pages.book_citizen, name="desk_book_citizen")
    add("GET", "/desk/book/summary", booking_pages.book_summary, name="desk_book_summary")
    add("POST", "/desk/book", booking_pages.book_submit, name="desk_book_submit")
    add("POST", f"/desk/appointments/{ID}/arrived", meeting_pages.mark_arrived, name="desk_arrived")
    add("POST", "/desk/tally", tally_pages.record_request, name="desk_tally")
    add("GET", "/desk/tally", tally_pages.back_to_desk, name="desk_tally_back")
    add(
        "POST",
        f"/desk/tally/{ID}/take-back",
        tally_pages.take_back_request,
        name="desk_tally_take_back",
    )
    add("GET", "/agenda", meeting_pages.agenda, name="agenda")
    add("GET", "/agenda/status", meeting_pages.agenda_status, name="agenda_status")
    add("GET", "/agenda/absences", agent_pages.absences_page, name="agent_absences")
    add("POST", "/agenda/absences", agent_pages.add_absence, name="agent_absence_add")
    add(
        "POST",
        f"/agenda/absences/{ID}/remove",
        agent_pages.remove_absence,
        name="agent_absence_remove",
    )
    add("GET", "/agenda/calendar", agent_pages.calendar_page, name="agent_calendar")
    add("POST", "/agenda/calendar", agent_pages.make_calendar_link, name="agent_calendar_make")
    add("POST", "/agenda/calendar/stop", agent_pages.stop_calendar_link, name="agent_calendar_stop")
    add("GET", f"/appointments/{ID}/join/agent", meeting_pages.join_agent, name="join_agent")
    add("GET", f"/appointments/{ID}/join/station", meeting_pages.join_station, name="join_station")
    add("GET", f"/station/{ID}", station_pages.station, name="station")
    add(
        "GET",
        f"/appointments/{ID}/confirmation",
        meeting_pages.confirmation,
        name="confirmation",
    )
    add("GET", f"/appointments/{ID}", appointment_pages.appointment_page, name="appointment_page")
    add("POST", f"/appointments/{ID}/cancel", appointment_pages.cancel, name="appointment_cancel")
    add(
        "POST", f"/appointments/{ID}/arrival", appointment_pages.arrival, name="appointment_arrival"
    )
    add(
        "POST", f"/appointments/{ID}/outcome", appointment_pages.outcome, name="appointment_outcome"
    )
    add("POST", f"/appointments/{ID}/move", appointment_pages.move, name="appointment_move")
    add(
        "POST",
        f"/appointments/{ID}/confirmation/send",
        meeting_pages.send_confirmation,
        name="confirmation_send",
    )
    # Administration
    add("GET", "/admin/users", user_pages.users_page, name="admin_users")
    add("GET", "/admin/users/new", user_pages.new_user_form, name="admin_user_new")
    add("POST", "/admin/users/new", user_pages.create_user, name="admin_user_create")
    add("GET", f"/admin/users/{ID}", user_pages.user_page, name="admin_user")
    add("POST", f"/admin/users/{ID}", user_pages.change_user, name="admin_user_change")
    user_token = f"/admin/users/{ID}/tokens/{{token_id:\\d+}}/revoke"
    add("POST", user_token, user_pages.revoke_token, name="admin_user_token_revoke")
    user_reset = f"/admin/users/{ID}/password-reset"
    add("POST", user_reset, user_pages.make_reset_link, name="admin_user_reset")
    user_sessions_end = f"/admin/users/{ID}/sessions/end"
    add("POST", user_sessions_end, user_pages.end_sessions, name="admin_user_sessions_end")
    add("GET", "/admin/", site_pages.admin_home, name="admin_home")
    add("GET", "/admin/to-rebook", site_pages.to_rebook, name="admin_to_rebook")
    add("GET", "/admin/sites", site_pages.sites_page, name="admin_sites")
    add("GET", "/admin/sites/new", site_pages.new_site_form, name="admin_site_new")
    add("POST", "/admin/sites/new", site_pages.create_site, name="admin_site_create")
    add("GET", f"/admin/sites/{ID}", site_pages.site_page, name="admin_site")
    add("POST", f"/admin/sites/{ID}", site_pages.change_site, name="admin_site_change")
    add("POST", f"/admin/sites/{ID}/state", site_pages.change_site_state, name="admin_site_state")
    add("POST", f"/admin/sites/{ID}/delete", site_pages.delete_site, name="admin_site_delete")
    add(
        "POST",
        f"/admin/sites/{ID}/stations",
        site_pages.create_station,
        name="admin_station_create",
    )
    admin_station = f"/admin/sites/{ID}/stations/{{station_id:\\d+}}"
    add("POST", admin_station, site_pages.change_station, name="admin_station_change")
    add(
        "POST",
        f"/admin/sites/{ID}/closures",
        site_pages.create_closure,
        name="admin_closure_create",
    )
    admin_closure = f"/admin/sites/{ID}/closures/{{closure_id:\\d+}}/delete"
    add("POST", admin_closure, site_pages.delete_closure, name="admin_closure_delete")
    add("GET", "/admin/partners", partner_pages.partners_page, name="admin_partners")
    add("GET", "/admin/partners/new", partner_pages.new_partner_form, name="admin_partner_new")
    add("POST", "/admin/partners/new", partner_pages.create_partner, name="admin_partner_create")
    add("GET", f"/admin/partners/{ID}", partner_pages.partner_page, name="admin_partner")
    add("POST", f"/admin/partners/{ID}", partner_pages.change_partner, name="admin_partner_change")
    partner_delete = f"/admin/partners/{ID}/delete"
    add("POST", partner_delete, partner_pages.delete_partner, name="admin_partner_delete")
    motive_new = f"/admin/partners/{ID}/motives/new"
    add("GET", motive_new, partner_pages.new_motive_form, name="admin_motive_new")
    add("POST", motive_new, partner_pages.create_motive, name="admin_motive_create")
    add("GET", f"/admin/motives/{ID}", partner_pages.motive_page, name="admin_motive")
    add("POST", f"/admin/motives/{ID}", partner_pages.change_motive, name="admin_motive_change")
    motive_delete = f"/admin/motives/{ID}/delete"
    add("POST", motive_delete, partner_pages.delete_motive, name="admin_motive_delete")
    add("GET", "/admin/agents", agent_admin_pages.agents_page, name="admin_agents")
    add("GET", "/admin/agents/new", agent_admin_pages.new_agent_form, name="admin_agent_new")
    add("POST", "/admin/agents/new", agent_admin_pages.create_agent, name="admin_agent_create")
    add("GET", f"/admin/agents/{ID}", agent_admin_pages.agent_page, name="admin_agent")
    add("POST", f"/admin/agents/{ID}", agent_admin_pages.change_agent, name="admin_agent_change")
    admin_agent_delete = f"/admin/agents/{ID}/delete"
    add("POST", admin_agent_delete, agent_admin_pages.delete_agent, name="admin_agent_delete")
    admin_rules = f"/admin/agents/{ID}/rules"
    add("GET", f"{admin_rules}/new", agent_admin_pages.new_rule_form, name="admin_rule_new")
    add("POST", f"{admin_rules}/new", agent_admin_pages.create_rule, name="admin_rule_create")
    admin_rule = f"{admin_rules}/{{rule_id:\\d+}}"
    add("GET", admin_rule, agent_admin_pages.rule_page, name="admin_rule")
    add("POST", admin_rule, agent_admin_pages.change_rule, name="admin_rule_change")
    add("POST", f"{admin_rule}/delete", agent_admin_pages.delete_rule, name="admin_rule_delete")
    admin_absences = f"/admin/agents/{ID}/absences"
    add("POST", admin_absences, agent_admin_pages.create_absence, name="admin_absence_create")
    admin_absence_delete = f"{admin_absences}/{{absence_id:\\d+}}/delete"
    add(
        "POST",
        admin_absence_delete,
        agent_admin_pages.delete_absence,
        name="admin_absence_delete",
    )
    add("GET", "/admin/outbox", admin_pages.outbox, name="admin_outbox")
    add("GET", f"/admin/outbox/{ID}", admin_pages.outbox_message, name="admin_outbox_message")
    add(
        "POST",
        f"/admin/outbox/{ID}/resend",
        admin_pages.resend_message,
        name="admin_outbox_resend",
    )
    add("GET", "/admin/audit", audit_pages.audit_log, name="admin_audit")
    add("GET", "/api/v1/audit", audit.list_entries, name="api_audit")
    add("GET", "/admin/import", import_pages.import_page, name="admin_import")
    add("POST", "/admin/import", import_pages.import_submit, name="admin_import_submit")
    # Statistics
    add("GET", "/stats", stats_pages.stats, name="stats")
    add("GET", "/stats/export", stats_pages.export, name="stats_export")
    add("GET", "/stats/report", stats_pages.report, name="stats_report")
    add("GET", "/api/v1/stats/sessions", statistics.session_stats, name="api_stats_sessions")
    add(
        "GET",
        "/api/v1/stats/sessions/crosstab",
        statistics.session_crosstab,
        name="api_stats_crosstab",
    )
    add("GET", "/api/v1/stats/desk-requests", statistics.desk_stats, name="api_stats_desk")
    # The desk's tally
    add("POST", "/api/v1/desk-requests", statistics.record_desk_request, name="api_desk_request")
    add(
        "DELETE",
        f"/api/v1/desk-requests/{ID}",
        statistics.take_back_desk_request,
        name="api_desk_request_take_back",
    )
    add("GET", "/api/v1/request-themes", statistics.list_themes, name="api_themes")
    add("POST", "/api/v1/request-themes", statistics.create_theme, name="api_theme_create")
    add("PATCH", f"/api/v1/request-themes/{ID}", statistics.change_theme, name="api_theme_change")
    # Calendar feeds
    add("POST", "/api/v1/me/calendar-feed", calendar_feed.create_feed, name="api_feed_create")
    add("DELETE", "/api/v1/me/calendar-feed", calendar_feed.revoke_feed, name="api_feed_revoke")
    add(
        "GET",
        r"/calendar/{token:visio_cal_[\w-]+}.ics",
        calendar_feed.serve_feed,
        name="calendar_feed",
    )
