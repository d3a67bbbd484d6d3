"""Prometheus metrics in one process: /metrics behind its token, what each family counts, and
the RGPD sweep of the exposition (no phone number, no call id, nothing a request typed).

Values are process-wide (prometheus-client's registry): each test compares before and after.
Real gunicorn, several workers: tests/test_metrics_gunicorn.py.
"""

import copy
import platform

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from backend.config import ConfigError, from_environment
from backend.engine import outcomes
from backend.metrics import families
from backend.tenants.store import tenant_store
from tests.console_play import client_post
from tests.leaks import assert_clean_exposition, random_id
from tests.outcome_batch import BATCH, play_batch
from tests.test_live_reload import edit

TOKEN = "metrics-test-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_app(build_app):
    return build_app(METRICS_TOKEN=TOKEN)


@pytest.fixture
def post(metrics_app, demo_headers):
    return client_post(metrics_app.test_client(), demo_headers)


def test_metrics_need_their_own_token(metrics_app, client, demo_headers):
    metrics = metrics_app.test_client()
    assert metrics.get("/metrics").status_code == 401
    assert metrics.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    # A tenant's secret is not the metrics token.
    answer = metrics.get("/metrics", headers=demo_headers)
    assert answer.status_code == 401 and answer.get_json() == {
        "error": "missing or invalid metrics token"
    }
    good = metrics.get("/metrics", headers=BEARER)
    assert good.status_code == 200 and good.headers["Cache-Control"] == "no-store"
    assert good.mimetype == "text/plain"
    # Without METRICS_TOKEN (the `client` fixture's app), metrics are off.
    off = client.get("/metrics", headers=BEARER)
    assert off.status_code == 404 and "METRICS_TOKEN" in off.get_json()["error"]


def test_metrics_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="METRICS_TOKEN must be at least 16 characters"):
        from_environment({"METRICS_TOKEN": "short"})
    missing = str(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR must be an existing folder"):
        from_environment({"PROMETHEUS_MULTIPROC_DIR": missing})
    settings = from_environment({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "METRICS_TOKEN": ""})
    assert settings["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)
    assert settings["METRICS_TOKEN"] is None


def test_the_batch_counts_each_outcome_once_and_every_request(metrics_app, post):
    names = [s.outcome for s in BATCH]
    before = {o: value("vapi_contact_outcomes_total", tenant="demo", outcome=o) for o in names}
    route = {"route": "llm.chat_completions", "msg_type": "chat-completions", "status": "200"}
    requests_before = value("vapi_requests_total", **route)
    ended = {"route": "voice.tenant_webhook", "msg_type": "status-update", "status": "200"}
    ended_before = value("vapi_requests_total", **ended)
    database_before = value("vapi_database_seconds_total", route="llm.chat_completions")
    latency_before = value("vapi_request_seconds_count", route="llm.chat_completions")

    play_batch(post)

    for outcome in names:
        counted = value("vapi_contact_outcomes_total", tenant="demo", outcome=outcome)
        assert counted - before[outcome] == 1, outcome
    assert set(names) == set(outcomes.OUTCOMES) - {outcomes.CALLER_ID_ASKED_AGAIN}
    chat_requests = sum(1 + len(s.utterances) for s in BATCH)
    assert value("vapi_requests_total", **route) - requests_before == chat_requests
    assert value("vapi_request_seconds_count", route="llm.chat_completions") - latency_before == (
        chat_requests
    )
    assert value("vapi_requests_total", **ended) - ended_before == len(BATCH)
    # The chat completions' statements took some database time, counted by their route.
    assert value("vapi_database_seconds_total", route="llm.chat_completions") > database_before


def test_no_number_no_call_id_no_typed_text_in_any_label(metrics_app, post, demo_headers):
    """The RGPD sweep of /metrics: after calls with numbers, odd message types and odd paths."""
    # The registry is the process's: tenants of tests run before this one in it (their own
    # tenant files: "cabinet", "fin"...) are already there, put by their files, not by requests.
    earlier_tenants = {
        sample.labels["tenant"]
        for family in REGISTRY.collect()
        for sample in family.samples
        if "tenant" in sample.labels
    }
    call_ids = play_batch(post)
    client = metrics_app.test_client()
    typed = random_id("typed")
    body = {"message": {"type": "+33612345678", "call": {"id": typed}}}
    assert client.post("/api/vapi/demo/webhook", json=body, headers=demo_headers).status_code == 200
    odd = copy.deepcopy(body)
    odd["message"]["type"] = f"x-{typed}"
    client.post("/api/vapi/demo/webhook", json=odd, headers=demo_headers)
    client.post("/api/vapi/0612345678/webhook", json=body, headers=demo_headers)  # 404
    client.get(f"/api/vapi/{typed}/nothing-here")  # no route at all

    exposition = client.get("/metrics", headers=BEARER).get_data(as_text=True)
    allowed = allowed_labels(metrics_app)
    allowed["tenant"] = allowed["tenant"] | earlier_tenants
    assert_clean_exposition(exposition, allowed, [*call_ids, typed])
    assert "612345678" not in exposition
    routes = {
        s.labels.get("route") for f in text_string_to_metric_families(exposition) for s in f.samples
    }
    assert {"unmatched", "voice.tenant_webhook", "llm.chat_completions"} <= routes
    types = {
        (s.labels.get("route"), s.labels.get("msg_type"))
        for f in text_string_to_metric_families(exposition)
        for s in f.samples
    }
    # An unknown type is `other`; a request that carried no message (no route, an unknown
    # tenant refused before its body was read) is `none`.
    assert ("voice.tenant_webhook", "other") in types
    assert {("unmatched", "none"), ("voice.tenant_webhook", "none")} <= types


def allowed_labels(app):
    """Every value a label may take: a closed vocabulary, nothing from a request."""
    statuses = {str(code) for code in range(100, 600)}
    return {
        "route": {rule.endpoint for rule in app.url_map.iter_rules()} | {"unmatched"},
        "msg_type": families.MESSAGE_TYPES | {families.OTHER, families.NO_MESSAGE},
        "status": statuses,
        "tenant": {"demo", "plomberie-dupont"},
        "outcome": set(outcomes.OUTCOMES),
        "kind": {"tenant", "catalog"},
        "result": {"accepted", "refused"},
        # prometheus-client's own collectors, in one process: the interpreter's.
        "generation": {"0", "1", "2"},
        "implementation": {platform.python_implementation()},
        "major": {platform.python_version_tuple()[0]},
        "minor": {platform.python_version_tuple()[1]},
        "patchlevel": {platform.python_version_tuple()[2]},
        "version": {platform.python_version()},
    }


@pytest.fixture
def reload_app(build_app, folders):
    """The shipped tenants and catalogs from copies, reloaded by the test itself (no thread)."""
    tenants, locales = folders
    app = build_app(TENANTS_DIR=str(tenants), LOCALES_DIR=str(locales), TENANTS_RELOAD=False)
    with app.app_context():
        yield tenant_store()


def reloads():
    return {
        (kind, result): value("vapi_config_reloads_total", kind=kind, result=result)
        for kind in ("tenant", "catalog")
        for result in ("accepted", "refused")
    }


def reloaded(store):
    before = reloads()
    store.reload_if_changed()
    return {key: count - before[key] for key, count in reloads().items() if count != before[key]}


def test_reloads_accepted_and_refused_are_counted(reload_app, folders):
    tenants, locales = folders
    store = reload_app
    assert reloaded(store) == {}  # nothing saved: no reload
    edit(tenants / "demo.yaml", "variant: standard", "variant: short")
    assert reloaded(store) == {("tenant", "accepted"): 1}
    edit(tenants / "demo.yaml", "masking:", "maskng:")
    assert reloaded(store) == {("tenant", "refused"): 1}
    base = locales / "fr" / "LC_MESSAGES" / "messages.po"
    edit(base, "{last_two}", "XX")
    assert reloaded(store) == {("catalog", "refused"): 1}
    # Fixed, each with something new: both apply (a fix back to what is served applies nothing).
    edit(base, "XX", "{last_two} (nouveau)")
    edit(tenants / "demo.yaml", "maskng:", "masking:")
    edit(tenants / "demo.yaml", "variant: short", "variant: warm")
    assert reloaded(store) == {("catalog", "accepted"): 1, ("tenant", "accepted"): 1}
