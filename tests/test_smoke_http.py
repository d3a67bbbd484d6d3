"""The demo tenant answers Vapi end to end through the test client; health and readiness."""

from backend import create_app
from backend.store.db import db
from tests.servers import free_port


def test_status_update_then_chat_completion_confirms_last_two(client, demo_headers, vapi_payload):
    response = client.post(
        "/api/vapi/demo/webhook",
        json=vapi_payload("status-update.in-progress"),
        headers=demo_headers,
    )
    assert response.status_code == 200 and response.get_json() == {}
    body = vapi_payload("chat-completions.request")
    body["stream"] = False
    answer = client.post("/api/vapi/demo/chat/completions", json=body, headers=demo_headers)
    assert answer.status_code == 200
    sentence = answer.get_json()["choices"][0]["message"]["content"]
    assert sentence == (
        "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
    )


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_with_tenants_and_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["database"], body["tenants"]) == ("ready", "ok", 2)


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path, secrets):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["tenants"] == 2
    assert body["database"].startswith("unavailable")
    assert app.test_client().get("/healthz").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_readyz_is_503_without_tenants(tmp_path, database_url):
    empty = tmp_path / "no-tenants"
    empty.mkdir()
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "TENANTS_DIR": str(empty)}
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["tenants"] == 0
    with app.app_context():
        db.engine.dispose()
