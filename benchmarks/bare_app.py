"""The benchmark's baseline: a bare Flask app that only parses the JSON body and answers `{}`."""

from flask import Flask, request

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    """The process answers (the benchmark waits for it)."""
    return {"status": "ok"}


@app.post("/<path:_path>")
def anything(_path):
    """Any POST: parse the body as the real app must, answer `{}`."""
    request.get_json(force=True)
    return {}
