"""The README's commands: `make run` serves the demo tenant; its curl calls get the sentences."""

import json
import os
import re
import signal
import subprocess
import time

import pytest
import requests

from tests.leaks import assert_no_full_number
from tests.servers import ROOT, free_port, wait_http

pytestmark = pytest.mark.slow  # `make run`: a real gunicorn

CONFIRM_14 = "J'ai un numéro qui se termine par 14. C'est bien le vôtre ? Dites oui ou non."
# `make run` may have to create the virtualenv first: a guard against a hang, not a speed check.
STARTUP_LIMIT = 600
TIMEOUT = 10
# What would make `make run` serve something else than the shipped demo: the test clears them.
CLEARED = {
    "VAPI_SECRET_DEMO",
    "VAPI_SECRET_PLOMBERIE",
    "TENANTS_DIR",
    "LOCALES_DIR",
    "DATABASE_URL",
    "PORT",
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
    "FLASK_APP",
}


def readme_curl_calls(port):
    """The curl commands of the README's "Play a call" block, each with the output it promises."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Play a call", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    calls = []
    for chunk in re.split(r"\n(?=curl )", block.strip()):
        command = "\n".join(line for line in chunk.splitlines() if not line.startswith("#"))
        promised = "\n".join(line[2:] for line in chunk.splitlines() if line.startswith("# "))
        calls.append((command.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), promised))
    return calls


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """`make run` on a free port with a fresh SQLite file; its whole process group is stopped.

    One server for the module: the tests play calls of their own, and each start costs seconds.
    """
    tmp_path = tmp_path_factory.mktemp("make-run")
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in CLEARED}
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'calls.db'}")
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output():
        return log_path.read_text(encoding="utf-8", errors="replace")

    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_http(
            url + "/readyz",
            time.monotonic() + STARTUP_LIMIT,
            alive=lambda: process.poll() is None,
            ok=lambda status: status == 200,
        )
        assert ready, f"`make run` did not get ready:\n{output()[-4000:]}"
        yield url, output
    finally:
        stop_group(process)
    # Nothing of the group is left running.
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    assert_no_full_number(output(), "`make run` output")


def stop_group(process):
    """TERM the whole process group (make, gunicorn master and workers), KILL after 20 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # make may exit before gunicorn's workers: wait for the group to empty, bounded.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    time.sleep(0.5)


def test_make_run_serves_the_demo_tenant(make_run, vapi_payload):
    url, output = make_run
    with requests.Session() as http:
        ready = http.get(url + "/readyz", timeout=TIMEOUT).json()
        assert ready["tenants"] == 2  # the shipped tenants
        headers = {"X-Vapi-Secret": "demo-secret"}  # the Makefile's default
        status = http.post(
            url + "/api/vapi/demo/webhook",
            json=vapi_payload("status-update.in-progress"),
            headers=headers,
            timeout=TIMEOUT,
        )
        assert status.status_code == 200 and status.json() == {}
        chat = http.post(
            url + "/api/vapi/demo/chat/completions",
            json=vapi_payload("chat-completions.request"),
            headers=headers,
            timeout=TIMEOUT,
        )
        assert chat.status_code == 200
        assert chat.headers["Content-Type"].startswith("text/event-stream")
        lines = [line for line in chat.text.split("\n") if line]
        assert lines[-1] == "data: [DONE]"
        chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
        sentence = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert sentence == CONFIRM_14
        for answer in (status, chat):
            assert_no_full_number(answer.text, "an answer from `make run`")
        wrong = http.post(
            url + "/api/vapi/demo/webhook",
            json=vapi_payload("status-update.in-progress"),
            headers={"X-Vapi-Secret": "not-the-demo-secret"},
            timeout=TIMEOUT,
        )
        assert wrong.status_code == 401
    assert "Serving the shipped tenants" in output()


def test_readme_curl_calls_get_what_the_readme_promises(make_run):
    url, _ = make_run
    port = int(url.rsplit(":", 1)[1])
    calls = readme_curl_calls(port)
    assert len(calls) == 2, "the README plays a status-update, then a chat completion"
    answers = []
    for command, promised in calls:
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        assert_no_full_number(done.stdout, "a README curl answer")
        answers.append((json.loads(done.stdout), promised))
    (status, promised_status), (chat, promised_chat) = answers
    assert status == json.loads(promised_status)
    sentence = chat["choices"][0]["message"]["content"]
    assert sentence == CONFIRM_14
    assert sentence in promised_chat
