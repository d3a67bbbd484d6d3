"""The demo tenant answers Vapi end to end through the test client."""


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
