"""`renkei demo`: the main job on a developer machine (Keycloak, database, sample data, logins, server)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.cli import DEMO_LOADER, DEMO_REVIEWERS, ensure_demo_logins
from admin.commands.db import upgrade_database
from admin.extensions import db
from core import authz
from core.actor import console_actor

DEMO_APPROVER = "demo-approver"  # the second finance officer who approves the sample year's run
# the residents' sign-in through the stand-in for the card app (tenancy.identity.keycloak.card_standin)
CARD_ALIAS, CARD_CLIENT = "mynumber-card", "renkei-residents"
CARD_CLIENT_SECRET = "renkei-demo-card-standin-secret"  # development only: the stand-in's client, made by the demo
CARD_DISPLAY_NAME = "マイナンバーカード（デモ用の代役）"


def active_tenants(session, actor, per_page: int = 500):
    """Every active tenant the actor may read, page by page (not only the first page)."""
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import list_tenants

    page = 1
    while True:
        items, total = list_tenants(session, actor, status=TenantStatus.active, page=page, per_page=per_page)
        yield from items
        if not items or page * per_page >= total:
            return
        page += 1


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--serve/--no-serve", default=True, help="Serve the app after preparing it.")
@click.option("--mail-port", default=1025, show_default=True, type=int,
              help="Port of the demo's mail catcher on 127.0.0.1 (0: none); unused when RENKEI_SMTP_HOST is set.")
@click.option("--keycloak-management-port", default=9000, show_default=True, type=int,
              help="Keycloak's management (health) port, when the demo starts Keycloak.")
@with_appcontext
def demo(host: str, port: int, serve: bool, mail_port: int, keycloak_management_port: int) -> None:
    """The main job on a developer machine: Keycloak, database, Kumamoto sample data, demo logins, server."""
    import os
    import signal

    from maintenance import keycloak_distribution, keycloak_server

    config = current_app.config
    if config["RENKEI_ENV"] != "development":
        raise click.ClickException("renkei demo runs only with RENKEI_ENV=development (it creates known passwords).")
    if config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] and host not in {"127.0.0.1", "::1", "localhost"}:
        raise click.ClickException(f"RENKEI_API_OPEN_FOR_DEVELOPMENT is on: the demo serves only on a loopback "
                                   f"address (127.0.0.1, ::1), not on {host}.")
    signal.signal(signal.SIGTERM, _interrupted)  # SIGTERM ends the demo as Ctrl-C does (the finally below runs)
    # and Ctrl-C ends it even when it was started from a shell or job runner that ignores SIGINT in what it starts
    # (a background job inherits SIG_IGN, and Python then installs no KeyboardInterrupt of its own)
    signal.signal(signal.SIGINT, _interrupted)
    url = config["RENKEI_KEYCLOAK_URL"]
    # the login comes back to the address served: --host/--port move it, unless RENKEI_PUBLIC_URL says otherwise
    config["RENKEI_PUBLIC_URL"] = public_url(host, port, os.environ)
    started = None
    if not keycloak_server.answers(url):
        click.echo(f"starting Keycloak {keycloak_distribution.KEYCLOAK_VERSION} (first run downloads it into the user cache)…")
        from admin.commands.keycloak import _port_from_url

        started = keycloak_server.start(port=_port_from_url(url), management_port=keycloak_management_port,
                                        admin_user=config["RENKEI_KEYCLOAK_ADMIN_USER"],
                                        admin_password=config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"])
    try:
        _prepare_and_serve(config, host, port, serve, mail_port)
    except KeyboardInterrupt:
        click.echo("demo stopped")
    finally:  # Ctrl-C (or SIGTERM) ends the demo and what it started
        if started is not None and started.started:
            click.echo("stopping the Keycloak the demo started…")
            keycloak_server.stop(state_dir=started.state_dir)


def public_url(host: str, port: int, environ) -> str:
    """The address people reach the demo at: RENKEI_PUBLIC_URL when set, else the one served."""
    given = environ.get("RENKEI_PUBLIC_URL", "").strip().rstrip("/")
    if given:
        return given
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def _prepare_and_serve(config, host: str, port: int, serve: bool, mail_port: int) -> None:
    import os

    from admin.commands.keycloak import bootstrap
    from tenancy.registry.sample import load_kumamoto, load_kumamoto_settings

    url = config["RENKEI_KEYCLOAK_URL"]
    # the demo relaxes the second factor (TOTP) so that its logins work at once; it says so below
    config["RENKEI_REQUIRE_TOTP"] = False
    catcher = _catch_mail(config, mail_port) if serve and mail_port and not config.get("RENKEI_SMTP_HOST") else None
    changes = bootstrap(direct_grants=True, require_totp=False)
    click.echo(f"Keycloak realm {config['RENKEI_KEYCLOAK_REALM']}: {len(changes)} change(s)"
               + (f" ({'; '.join(changes)})" if changes and len(changes) < 5 else ""))
    upgrade_database()
    from usage.quota_plans import load_default_plans

    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})
    created = load_kumamoto(db.session, loader)
    load_kumamoto_settings(db.session, loader)  # issuer and where to pay, for the letters (sample values)
    plans = load_default_plans(db.session, loader)
    from catalogue.sample import load_sample_datasets

    datasets = load_sample_datasets(db.session, loader)  # Kumamoto's 33 datasets, sample records, through the import
    from usage.sample import load_sample_usage

    sample_calls = load_sample_usage(db.session, loader)  # made-up API calls to those datasets: the usage report shows them
    from service.sample import load_sample_measurements

    # the last 7 days probed every 5 minutes, recorded by the monitor and marked sample: the status page shows them
    click.echo("sample measurements: recording the last 7 days' probes through the monitor (a new database only)…")
    sample_probes = load_sample_measurements(db.session)
    from residents.consent.operations import ensure_default_levels

    ensure_default_levels(db.session, loader)  # the three usual identity assurance levels (issue 23)
    from billing.sample import load_sample_year  # FY2025 lived: costs, grant, policy, approved run, letters, a payment

    sample_year = load_sample_year(db.session, console_actor(DEMO_LOADER, {authz.FINANCE}),
                                   console_actor(DEMO_APPROVER, {authz.FINANCE}))  # four eyes: two people
    desk_lines = load_desk_samples(db.session, loader)
    db.session.commit()
    from admin.identity import identity_directory

    active = 0
    for tenant in active_tenants(db.session, loader):
        identity_directory().ensure_tenant_group(tenant.code, tenant.name_ja)
        active += 1
    click.echo(f"sample data: {len(created)} tenant(s) added, {active} active; {len(plans)} quota plan(s) added; "
               f"{len(datasets)} sample dataset(s) added; {sample_calls} sample usage event(s) recorded")
    if sample_probes:
        click.echo(f"sample measurements: {sample_probes} probe(s) of the last 7 days recorded through the monitor "
                   "(marked 'sample (demo)'; /status shows them)")
    click.echo(sample_year.line())
    for line in desk_lines:
        click.echo(line)
    password = os.environ.get("RENKEI_DEMO_PASSWORD", "renkei-demo-2026")  # the realm's policy: 12 characters or more
    rows = ensure_demo_logins(password)
    reviewers = _assign_sample_reviewers(loader)
    holders = prepare_card_sign_in(db.session, loader, password)
    coded = prepare_coded_service(db.session, loader)
    db.session.commit()
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"renkei is ready: admin UI {base}/admin   API {base}/api/v1/tenants   OpenAPI {base}/api/v1/openapi.json")
    click.echo(f"catalogue: CKAN API {base}/api/3/action/package_search   DCAT {base}/catalog.ttl")
    click.echo(f"demo logins (password for all: {password}; development only):")
    for username, roles, tenant in rows:
        click.echo(f"  {username:<18} {roles:<20} tenant {tenant}")
    click.echo("  note: the demo relaxes the second factor (TOTP): these logins need no code. `renkei keycloak "
               "bootstrap` outside the demo requires TOTP for operator, finance, auditor, the contractors and municipal admins.")
    if reviewers:
        click.echo(f"sample call: {reviewers} reviewer(s) assigned from the demo logins ({', '.join(DEMO_REVIEWERS)})")
    for line in card_holder_lines(holders, config["RENKEI_PUBLIC_URL"], password):
        click.echo(line)
    for line in coded_service_lines(coded, base, url, config["RENKEI_KEYCLOAK_REALM"]):
        click.echo(line)
    click.echo(f"API token for curl: curl -s -d grant_type=password -d client_id={config['RENKEI_OIDC_CLIENT_ID']} "
               f"-d client_secret={config['RENKEI_OIDC_CLIENT_SECRET']} -d username=operator -d password={password} "
               f"{url}/realms/{config['RENKEI_KEYCLOAK_REALM']}/protocol/openid-connect/token")
    if serve:
        click.echo(f"status: the probes run every minute, as the due job would: {base}/status shows what they "
                   "measured since now (days before are 未計測, not measured)")
        _probe_in_background(current_app._get_current_object())
    if catcher is not None:
        click.echo(f"mail: no mail server is needed; what renkei and Keycloak send is caught at {base}/dev/mail/")
        _deliver_in_background(current_app._get_current_object())
    if serve:
        from werkzeug.serving import run_simple

        run_simple(host, port, current_app._get_current_object(), threaded=True)


def _assign_sample_reviewers(loader) -> int:
    """The sample call's reviewers: the demo logins of :data:`admin.cli.DEMO_REVIEWERS`, real accounts now."""
    from admin.identity import identity_directory
    from competition.sample import assign_sample_reviewers

    directory = identity_directory()
    subjects = [found["id"] for username in DEMO_REVIEWERS if (found := directory.find_user(username)) is not None]
    return assign_sample_reviewers(db.session, loader, directory, subjects)


# the municipalities of the demo's residents' portal and the words each shows its residents (【サンプル】)
PORTAL_MUNICIPALITIES = (
    ("431001", "【サンプル】熊本市の住民ポータルです。お問い合わせは各区役所の区民課へ。"),
    ("432024", "【サンプル】八代市の住民ポータルです。お問い合わせは市民課へ。"),
)


def prepare_card_sign_in(session, loader, password: str, standin_realm: str | None = None) -> list[tuple[str, str, bool]]:
    """The residents' sign-in of the demo (issue 55 item 2): a realm standing in for the card app (デジタル認証アプリ)
    with the sample card holders (``password`` for all), the residents' realm (realm-setup's function) and the
    stand-in as its provider (provider-add's function), 熊本市 and 八代市 placed in the one portal with their words
    (:data:`PORTAL_MUNICIPALITIES`; RENKEI_PORTAL_TENANT, when set, still names one alone) and the counter's sample people's cards joined to them. Flushes; the holders (username, name,
    enrolled at the counter)."""
    from admin.commands.keycloak import _master_password
    from admin.portal.door import realm_settings
    from admin.resident_keys import keyring
    from residents import signin
    from residents.sample import card_holders, join_card_holders
    from tenancy.identity.keycloak import STANDIN_REALM, ensure_card_holder, ensure_card_standin, master_admin

    from residents import portal_municipalities

    config = current_app.config
    active = {row.tenant_code for row in portal_municipalities.settings_for(session, loader)}
    for code, words in PORTAL_MUNICIPALITIES:  # the one portal (issue 56 item 1): two member cities take part
        if code in active:
            portal_municipalities.set_portal(session, loader, code, opted_in=True, welcome_ja=words)
    url, standin = config["RENKEI_KEYCLOAK_URL"], standin_realm or STANDIN_REALM
    master = master_admin(url, config["RENKEI_KEYCLOAK_ADMIN_USER"], _master_password(config), "master")
    settings = realm_settings()
    ensure_card_standin(master, standin, CARD_CLIENT, CARD_CLIENT_SECRET, f"{url}/realms/{settings.realm}/broker/*")
    holders = card_holders()
    subjects = {username: ensure_card_holder(master, standin, username, password, items)
                for username, items, _ in holders}
    signin.setup_realm(session, loader, master, settings)
    provider, _ = signin.add_provider(session, loader, master, settings, {
        "alias": CARD_ALIAS, "display_name": CARD_DISPLAY_NAME, "client_id": CARD_CLIENT,
        "client_secret": CARD_CLIENT_SECRET, "assurance_level": 3,
        "discovery_url": f"{url}/realms/{standin}/.well-known/openid-configuration"})
    join_card_holders(session, keyring(), provider.issuer, subjects)
    return [(username, items["full_name"], counter) for username, items, counter in holders]


def card_holder_lines(holders: list[tuple[str, str, bool]], public_url: str, password: str) -> list[str]:
    """What the demo prints of the residents' portal and its sample card holders."""
    lines = [f"residents' portal: {public_url}/portal/ (熊本市) — sign in with the card through 「デジタル認証アプリ"
             "（デモ用の代役）」, a realm of the demo's Keycloak standing in for the Digital Agency's card app (not "
             "the real one)",
             f"sample card holders (password for all: {password}; development only):"]
    for username, name, counter in holders:
        lines.append(f"  {username:<18} {name:<16} " + ("enrolled at the counter: links and consents" if counter
                                                         else "new: the first sign-in enrols them"))
    return lines


def prepare_coded_service(session, loader):
    """The sample service that links its users by a code, with its API client in Keycloak (residents.sample)."""
    from admin.identity import identity_directory
    from residents.sample import register_coded_service

    return register_coded_service(session, loader, identity_directory())


def coded_service_lines(coded, base: str, keycloak_url: str, realm: str) -> list[str]:
    """How a newcomer links the sample service by its code: the service's client asks renkei for a code (valid
    10 minutes) for one of its users, and a card holder types it in the portal."""
    from residents.sample import CODED_SERVICE, CODED_USER

    if coded is None:
        return []
    lines = [f"link by a code: {CODED_SERVICE} (service {coded.service_id} of 熊本市) asks renkei for a one-time code "
             f"for its user {CODED_USER}; sign in to the portal as card-sakura and type it under 「サービスと連携する」 on /portal/services"]
    if coded.secret is None:
        return lines + ["  its API client's secret was printed when the demo made it; issue a new one on the "
                        "API clients page (/admin/api-clients/)"]
    return lines + [
        f"  its API client (development only): client_id {coded.keycloak_client_id}  secret {coded.secret}",
        f"  TOKEN=$(curl -s -d grant_type=client_credentials -d client_id={coded.keycloak_client_id} "
        f"-d client_secret={coded.secret} {keycloak_url}/realms/{realm}/protocol/openid-connect/token "
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f"  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
        f"-d '{{\"service_id\": {coded.service_id}, \"service_user_id\": \"{CODED_USER}\"}}' "
        f"{base}/api/v1/residents/link-codes   (the code in the answer is valid for 10 minutes)"]


def load_desk_samples(session, loader) -> list[str]:
    """A sample of every desk's job (issue 55 item 1): members, inquiries, an event, minutes, a call in
    review, services and residents, the next year's budget and estimates; each through its operations,
    each only into an empty register. Flushes, never commits; returns the summary lines."""
    from admin.resident_keys import keyring
    from billing.sample import load_sample_next_year
    from competition.sample import load_sample_call
    from residents.sample import load_sample_residents
    from core.calendar import fiscal_year_of, today_jst
    from secretariat.sample import load_sample_desk, load_sample_members, load_sample_survey, sample_corporate_number

    members = load_sample_members(session, loader)
    desk = load_sample_desk(session, loader)
    poll = load_sample_survey(session, loader, fiscal_year_of(today_jst()))
    call = load_sample_call(session, loader, tuple(sample_corporate_number(n) for n in range(1, 7)))
    people = load_sample_residents(session, loader, keyring())
    next_year = load_sample_next_year(session, console_actor(DEMO_LOADER, {authz.FINANCE}))
    if next_year.budget_id is not None:  # the council votes on it: every municipal admin has a vote to cast
        from governance.sample import propose_sample_budget

        propose_sample_budget(session, loader, next_year.budget_id, next_year.fiscal_year)
    return [f"sample desk: {members} member(s) added; {desk.inquiries} inquiry(ies), {desk.registrations} event "
            f"registration(s), minutes awaiting approval; last year's survey {poll.last_year_answers} of "
            f"{poll.last_year_recipients} answered, {poll.questions} question(s) this year; call in review with {call.proposals} proposal(s); "
            f"{people.services} service(s), {people.residents} resident(s), {people.links} link(s), "
            f"{people.consents} consent(s); FY{next_year.fiscal_year} budget draft put to the council's vote and "
            f"{next_year.estimates} estimate(s)"]


def _catch_mail(config, port: int):
    """Start the demo's mail catcher and point renkei's and the realm's SMTP settings at it."""
    from pathlib import Path

    from admin.devmail import start_catcher

    directory = Path(config["RENKEI_VAR_DIR"]) / "mail"
    try:
        catcher = start_catcher(directory, port=port)
    except (OSError, ImportError) as error:  # port taken, or aiosmtpd missing: the demo goes on, saying so
        click.echo(f"mail: the catcher could not listen on 127.0.0.1:{port} ({error}); messages stay in 通知 "
                   "(use --mail-port)", err=True)
        return None
    config.update({"RENKEI_SMTP_HOST": "127.0.0.1", "RENKEI_SMTP_PORT": port, "RENKEI_SMTP_FROM": "renkei@example.jp",
                   "RENKEI_DEV_MAIL_DIR": str(directory)})
    return catcher


def _probe_in_background(app, every: float = 60.0) -> None:
    """Probe the components every minute, as the due job would (renkei service probe), so that the demo's
    status page shows real measurements from the demo's start, never made-up figures."""
    import threading
    import time

    from admin.service.checks import probe_round

    def loop() -> None:
        time.sleep(2)  # let the server listen before its own pages are probed
        while True:
            with app.app_context():
                try:
                    probe_round()
                except Exception as error:  # noqa: BLE001 (a demo helper: say it, try again next round)
                    db.session.rollback()
                    click.echo(f"status: probing failed ({type(error).__name__}: {error}); trying again", err=True)
            time.sleep(every)

    threading.Thread(target=loop, name="demo-probes", daemon=True).start()


def _deliver_in_background(app, every: float = 3.0) -> None:
    """Send the outbox to the catcher every few seconds, as the due jobs would (renkei jobs run-due)."""
    import threading
    import time

    from admin.commands.onboarding import smtp_sender
    from core.outbox import deliver_pending

    def loop() -> None:
        while True:
            time.sleep(every)
            with app.app_context():
                try:
                    deliver_pending(db.session, smtp_sender())
                    db.session.commit()
                except Exception as error:  # noqa: BLE001 (a demo helper: say it, try again next round)
                    db.session.rollback()
                    click.echo(f"mail: delivery failed ({type(error).__name__}: {error}); trying again", err=True)

    threading.Thread(target=loop, name="demo-mail", daemon=True).start()
