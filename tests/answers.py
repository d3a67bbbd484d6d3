"""What an error answer says, in the shape its endpoint gives it."""

# OpenAI's error object, the Custom LLM endpoint's (backend/routes/llm.py).
OPENAI_ERROR_KEYS = {"message", "type", "param", "code"}


def error_message(answer):
    """The message of a JSON error answer (Flask's test response): Vapi's `{"error": "..."}`
    on the webhooks, OpenAI's `{"error": {"message", "type", "param", "code"}}` on the Custom
    LLM endpoint, its shape checked."""
    body = answer.get_json()
    error = body["error"]
    if answer.request.path.endswith("/chat/completions"):
        assert set(error) == OPENAI_ERROR_KEYS and error["type"], body
        error = error["message"]
    assert isinstance(error, str) and error, body
    return error
