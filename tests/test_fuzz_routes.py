"""Property: no route answers 5xx, whatever its parameters. Every GET route of the public
pages, the staff and admin pages, the JSON API and Open311 (read from the app's URL map) is
called by each kind of caller that may use it, with generated path and query-string values:
weird dates, huge numbers, any Unicode, empty values, and the known objects of the scene.
The public forms, and every staff and admin form, are then posted with generated values.
Hypothesis runs derandomised, with a
fixed number of examples per route, so the suite stays quick and repeatable."""
from __future__ import annotations

import inspect
from html import unescape
import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from test_security_corpus import Scene, bearer, citizen_of, scene  # noqa: F401  (fixture)
from pages import Page
from test_staff import browser, get_page, signed_in
from test_supervision import ADMIN, AUDITOR, OFFICER_A, SUPERVISOR_A, org  # noqa: F401  (fixture)

EXAMPLES_PER_ROUTE = 8
# Query-string names a view reads, found in its source.
READ = re.compile(r"""(?:args|values)(?:\.get|\.getlist)?[\[(]\s*["']([a-z_]+)["']"""
                  r"""|_(?:flag|day|date)\(\s*["']([a-z_]+)["']""")
EVERY_VIEW_READS = ["lang"]
ODD_VALUES = [
    "", " ", "0", "-1", "1", "2147483648", "9" * 30, "-" + "9" * 30, "1e309", "NaN", "inf", "0x10",
    "true", "on", "csv", "json", "xml", "id", "en", "UNIT-A", "UNIT-B", "GENERAL", "UNIT-A.GENERAL",
    "ÜNIT-Ж", "received", "open,closed", "2026-06-01", "2026-13-45", "2026-02-30", "0000-00-00",
    "0001-01-01", "9999-12-31", "10000-01-01", "99999-01-01", "+002026-01-01", "2026-W01",
    "2026-06-01T00:00:00+07:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
    "2026-06-01T00:00:00Z", "2026-06-01T00:00:00", "24:00", "<script>alert(1)</script>",
    "' OR '1'='1", "%", "%00", "../../etc/passwd", "//evil.example/", "javascript:alert(1)",
    "\u202etxt.exe", "😀", "ا", "a" * 3000, "[]", "{}", "null", "\t", "\x00",
    # full-text search syntax (FTS5, tsquery, LIKE) that a search box must read as plain text
    '"', '""', '"ktp', "*", "ktp*", "NEAR", "ktp NEAR(jalan rusak, 2)", "-ktp", "ktp -el", "AND OR NOT",
    "{title}: ktp", "title:ktp", "^ktp", "ktp & !jalan | (air", "'ktp':* & jalan:A", "_%_", "ABCD-",
]
# The calendar's ends (a day, or a moment 14 hours from UTC), each tried in every parameter
# of every route; the generated values seldom land exactly there.
EDGE_DATES = ["0001-01-01", "0001-01-01T00:00:00+14:00"]
# Characters a URL can carry (a lone surrogate cannot be encoded at all).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
OFFSETS = st.sampled_from([timezone(timedelta(hours=h)) for h in (-12, 0, 7, 14)])
VALUE = st.one_of(st.sampled_from(ODD_VALUES), TEXT, st.integers(-2**70, 2**70).map(str),
                  st.dates().map(date.isoformat),
                  st.datetimes(timezones=OFFSETS).map(datetime.isoformat))
FUZZ = settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def _surface(rule: str) -> str:
    for prefix, surface in (("/api/", "api"), ("/open311/", "open311"), ("/staff", "staff"),
                            ("/admin", "staff"), ("/account", "staff")):
        if rule.startswith(prefix):
            return surface
    return "public"


def _parameters(app, rule) -> list[str]:
    """The query-string names the rule's view reads, itself or through a helper of its module."""
    view = inspect.unwrap(app.view_functions[rule.endpoint])
    module, source = inspect.getmodule(view), inspect.getsource(view)
    for called in set(re.findall(r"\b(\w+)\(", source)):
        helper = getattr(module, called, None)
        if inspect.isfunction(helper) and helper.__module__ == module.__name__:
            source += inspect.getsource(helper)
    return sorted({name for match in READ.finditer(source) for name in match.groups() if name}
                  | set(EVERY_VIEW_READS))


def _strongest(rule: str) -> str:
    """The caller who gets furthest into a route's view (the one used for EDGE_DATES)."""
    surface = _surface(rule)
    if surface == "staff":
        return ADMIN if rule.startswith("/admin") else OFFICER_A if rule.startswith("/account") else SUPERVISOR_A
    return {"public": "citizen", "api": "token officer", "open311": "anonymous"}[surface]


CALLERS = {  # who calls each surface
    "public": ["anonymous", "citizen", OFFICER_A],
    "staff": ["anonymous", OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN],
    "api": ["anonymous", "pin", "token officer", "token auditor"],
    "open311": ["anonymous"],
}


CODE_OF = {"admin.unit": "UNIT-A", "admin.category": "GENERAL", "public.set_language": "en",
           "open311.service_definition": "UNIT-A.GENERAL"}  # `<code>` is no complaint's there


def _known(scene: Scene, argument: str) -> list:
    return {
        "code": [scene.a, scene.secret, scene.b, scene.closed, "UNIT-A", "GENERAL", "UNIT-A.GENERAL", "id"],
        "token": [scene.a], "fmt": ["json", "xml"],
        "attachment_id": [scene.attachment_a, scene.attachment_b],
        "record_id": [scene.record_a, scene.record_b], "file_id": [scene.file_a, scene.file_b],
        "document_id": [scene.document_a, scene.document_b],
        "template_id": [scene.template], "user_id": list(scene.users.values())[:3],
        "notification_id": [scene.notification_a], "action_id": [scene.action_a],
    }.get(argument, ["1"])


def _path_values(scene: Scene, argument: str):
    """Values for a path parameter: the scene's own objects, or anything."""
    return st.one_of(st.sampled_from([str(v) for v in _known(scene, argument)]), VALUE.filter(bool))


def _url(rule, values: dict) -> str:
    """The rule's path with each `<argument>` replaced by its value, percent-encoded."""
    def fill(match):
        name = match.group(1).split(":")[-1]
        return quote(values[name], safe="")
    return re.sub(r"<([^>]+)>", fill, rule.rule)


@pytest.fixture
def callers(app, scene):
    """A client and headers for every kind of caller."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    clients = {"anonymous": (browser(app), {}), "citizen": (citizen_of(app, scene.a, scene.a_pin), {}),
               "pin": (browser(app), {"X-Tracking-Pin": scene.a_pin}),
               "token officer": (browser(app), bearer(scene.tokens[OFFICER_A])),
               "token auditor": (browser(app), bearer(scene.tokens[AUDITOR]))}
    for email in (OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN):
        clients[email] = (signed_in(app, email), {})
    return clients


def _get_routes(app):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and rule.endpoint != "static"), key=lambda r: r.rule)


def test_no_get_route_answers_5xx_whatever_its_parameters(app, scene, callers):
    routes = _get_routes(app)
    assert len(routes) > 30  # the whole map, not a handful
    failures = {}
    for rule in routes:
        arguments = sorted(rule.arguments)
        names = [name for name in _parameters(app, rule) if name not in arguments]

        @given(who=st.sampled_from(CALLERS[_surface(rule.rule)]),
               path=st.fixed_dictionaries({name: _path_values(scene, name) for name in arguments}),
               query=st.dictionaries(st.sampled_from(names), VALUE, max_size=4))
        @FUZZ
        def call(who, path, query):
            client, headers = callers[who]
            url = _url(rule, path)
            response = client.get(url, query_string=query, headers=headers)
            assert response.status_code < 500, (who, url, query, response.status_code)

        known = {name: str(_known(scene, name)[0]) for name in arguments}
        if "code" in known:
            known["code"] = CODE_OF.get(rule.endpoint, known["code"])
        for name in set(names) - set(EVERY_VIEW_READS):
            for value in EDGE_DATES:
                call = example(who=_strongest(rule.rule), path=known, query={name: value})(call)
        try:
            call()
        except AssertionError as exc:
            failures[rule.rule] = str(exc)[:300]
    assert not failures, "\n".join(f"{where}: {what}" for where, what in failures.items())


PUBLIC_FORMS = {  # the fields each public form reads (names are a contract, design.md 5)
    "/complaints/new": ["unit", "category", "classification", "title", "description", "incident_date",
                        "incident_location", "service_date", "requested_resolution", "privacy", "name",
                        "nik", "email", "phone", "address", "consent", "submission"],
    "/track": ["code", "pin"],
    "/login": ["email", "password"],
    "/track/forget": [],
}
FIELD = st.one_of(st.sampled_from(ODD_VALUES + ["public", "anonymous", "confidential", "pengaduan", "y"]),
                  TEXT, st.integers(-2**70, 2**70).map(str))


def test_no_public_post_answers_5xx_whatever_it_carries(app, scene, callers):
    """The public forms, the citizen's steps and rating, Open311 filing, posted with generated
    values and a valid CSRF token (the values are under test, not the token); then API filing
    and steps with generated JSON."""
    anonymous, citizen = browser(app), callers["citizen"][0]
    closed = citizen_of(app, scene.closed, scene.closed_pin)
    tokens = {id(c): get_page(c, "/login").token for c in (anonymous, citizen, closed)}
    forms = {**{url: (anonymous, fields) for url, fields in PUBLIC_FORMS.items()},
             f"/track/{scene.a}/rate": (citizen, ["rating", "comment"]),
             f"/track/{scene.closed}/rate": (closed, ["rating", "comment"]),
             f"/track/{scene.a}/message": (citizen, ["message"]),
             f"/track/{scene.a}/act/withdraw": (citizen, ["reason", "comment", "message", "version"]),
             f"/track/{scene.a}/withdraw": (citizen, ["comment", "version"]),
             "/open311/v2/requests.json": (anonymous, [
                 "api_key", "service_code", "description", "lat", "long", "address_string", "address_id",
                 "first_name", "last_name", "email", "phone", "attribute[privacy]", "attribute[title]",
                 "attribute[service_date]", "attribute[incident_date]", "attribute[nik]"])}
    failures = {}
    for url, (client, fields) in forms.items():
        fixed = {"api_key": scene.api_key, "service_code": "UNIT-A.GENERAL"} if "open311" in url else {}
        fixed["csrf_token"] = tokens[id(client)]

        @given(data=st.fixed_dictionaries({}, optional={name: FIELD for name in fields}),
               keep=st.sampled_from([{}, fixed]))
        @FUZZ
        def post(data, keep):
            response = client.post(url, data={**data, **keep})
            assert response.status_code < 500, (url, data, response.status_code)

        try:
            post()
        except AssertionError as exc:
            failures[url] = str(exc)[:300]
    _post_json(app, scene, failures)
    assert not failures, "\n".join(f"{where}: {what}" for where, what in failures.items())


JSON_VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                                    st.floats(allow_nan=False), st.text(max_size=20), st.sampled_from(ODD_VALUES)),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3),
                          max_leaves=8)
FILING_FIELDS = PUBLIC_FORMS["/complaints/new"][:-2]


def _post_json(app, scene: Scene, failures: dict) -> None:
    """API filing and steps (the citizen's and an officer's) with generated JSON: any type in
    any field, lone surrogates included (JSON can carry them where a URL cannot)."""
    surrogates = st.sampled_from(["\ud800", "a\udfffb", "\udbff\udbff"])
    body = st.fixed_dictionaries({}, optional={name: st.one_of(JSON_VALUE, surrogates)
                                               for name in FILING_FIELDS + ["trigger", "version", "message"]})
    for url, headers in (("/api/v1/complaints", {}),
                         (f"/api/v1/complaints/{scene.a}/transitions", {"X-Tracking-Pin": scene.a_pin}),
                         (f"/api/v1/complaints/{scene.a}/transitions", bearer(scene.tokens[OFFICER_A]))):
        client = browser(app)

        @given(document=st.one_of(body, JSON_VALUE))
        @FUZZ
        def post(document):
            response = client.post(url, json=document, headers=headers)
            assert response.status_code < 500, (url, document, response.status_code)

        try:
            post()
        except AssertionError as exc:
            failures[url + str(headers)[:20]] = str(exc)[:300]


STAFF_CALLERS = [OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN]
LAST = ("/account/password", "/logout")  # they end the caller's sessions: posted last
FORM_FIELD = re.compile(r"""form(?:\.get|\.getlist)?[\[(]\s*["']([a-z_]+)["']""")


def _rendered_forms(app, scene: Scene, callers) -> dict:
    """Every form the staff pages render for each caller, by its action: the caller and the
    values a browser would send back (scene objects in the paths)."""
    forms: dict = {}
    for rule in _get_routes(app):
        if _surface(rule.rule) != "staff" or "<" in rule.rule and not set(rule.arguments) <= KNOWN_PATHS:
            continue
        values = {name: str(_known(scene, name)[0]) for name in rule.arguments}
        if "code" in values:
            values["code"] = CODE_OF.get(rule.endpoint, values["code"])
        for who in STAFF_CALLERS:
            pending, seen = [_url(rule, values)], set()
            while pending:  # the page, then each step it offers (?step=...: one form each)
                url = pending.pop()
                seen.add(url)
                response = callers[who][0].get(url)
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                html = response.get_data(as_text=True)
                for action, form in Page(html).forms.items():
                    forms.setdefault(action.split("?")[0], (who, form.values))
                pending += [link for link in {unescape(h) for h in STEP_LINK.findall(html)}
                            if link not in seen and link not in pending]
    return forms


STEP_LINK = re.compile(r'href="([^"#]*\?step=[^"#]*)')


KNOWN_PATHS = {"code", "record_id", "action_id", "document_id", "template_id", "user_id",
               "notification_id", "file_id", "attachment_id"}


def _staff_posts(app):
    rules = [rule for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and _surface(rule.rule) == "staff"]
    # Admin forms may deactivate or reset the callers' accounts: after the others.
    return sorted(rules, key=lambda r: (r.rule in LAST, r.rule.startswith("/admin"), r.rule))


def test_no_staff_post_answers_5xx_whatever_it_carries(app, scene, callers):
    """Every staff and admin form, posted by a caller who sees it with generated values and
    a valid CSRF token (the values are under test): the fields its page renders and those
    its view reads. A route no page shows a form for is posted by the strongest caller."""
    forms = _rendered_forms(app, scene, callers)
    triggers = [action.rsplit("/", 1)[1] for action in forms if "/act/" in action]
    assert {"verify", "request_info", "reject"} <= set(triggers), triggers
    tokens = {who: get_page(callers[who][0], "/account/password").token for who in STAFF_CALLERS}
    failures, posted = {}, 0
    for rule in _staff_posts(app):
        view = inspect.unwrap(app.view_functions[rule.endpoint])
        read = set(FORM_FIELD.findall(inspect.getsource(view)))
        pattern = re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", rule.rule) + "$")
        targets = [(action, who, values) for action, (who, values) in forms.items() if pattern.match(action)]
        if not targets:
            values = {name: str(_known(scene, name)[0]) for name in rule.arguments}
            targets = [(_url(rule, values), _strongest(rule.rule), {})]
        for action, who, rendered in targets[:4]:
            client = callers[who][0]
            fields = sorted(set(rendered) - {"csrf_token"} | read)
            token = tokens[who]

            @given(data=st.fixed_dictionaries({}, optional={name: FIELD for name in fields}),
                   keep=st.sampled_from([{}, rendered]))
            @FUZZ
            def post(data, keep):
                response = client.post(action, data={**keep, **data, "csrf_token": token})
                assert response.status_code < 500, (who, action, data, response.status_code)

            try:
                post()
            except AssertionError as exc:
                failures[action] = str(exc)[:300]
            posted += 1
    assert posted >= len(_staff_posts(app))
    assert not failures, "\n".join(f"{where}: {what}" for where, what in failures.items())
