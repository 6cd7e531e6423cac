"""The descriptor LLM endpoint against REAL misbehaving HTTP servers on 127.0.0.1: a trickle of one byte every
5 s (in the body and in the headers), an endless body, a 50 MB answer, ``content: null``, a body that is not
UTF-8, overlong answers. Each ends within the overall deadline with the template descriptors and a message
saying why; Cancel in the window stops a trickling request within a second."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest

from star_app.services.descriptors import generate_descriptors
from star_model.nn.descriptors import template_stages
from tests.app.conftest import settings, wait_idle

GOOD = "1. A person crouches.\n2. The person springs upward.\n3. The person lands."


def chat(content: object) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()


class Server:
    """A ThreadingHTTPServer whose answer to a POST is ``behave(handler)``; counts the bytes it sent."""

    def __init__(self, behave: Callable[[BaseHTTPRequestHandler, "Server"], None]) -> None:
        outer = self
        self.sent = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    behave(self, outer)
                except OSError:  # the client hung up: what it should do with a bad server
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve():
    servers: list[Server] = []

    def start(behave) -> Server:
        servers.append(Server(behave))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def headers(h: BaseHTTPRequestHandler, length: int | None = None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    if length is not None:
        h.send_header("Content-Length", str(length))
    h.end_headers()


def answer(body: bytes) -> Callable:
    def behave(h, server):
        headers(h, len(body))
        h.wfile.write(body)
        server.sent += len(body)
    return behave


def trickle_body(h, server):
    headers(h, 1000)
    for _ in range(1000):
        h.wfile.write(b" ")
        h.wfile.flush()
        server.sent += 1
        time.sleep(5)


def trickle_headers(h, server):
    h.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(1000):
        h.wfile.write(b"X: y\r\n")
        h.wfile.flush()
        time.sleep(5)


def endless(h, server):
    h.send_response(200)
    h.send_header("Connection", "close")
    h.end_headers()
    block = b"a" * 65536
    while server.sent < 2**32:
        h.wfile.write(block)
        server.sent += len(block)


def ask(url: str, timeout_s: float = 30.0) -> tuple[list[str], str, str, float]:
    t0 = time.monotonic()
    stages, source, problem = generate_descriptors("jump", url, "m", "", timeout_s=timeout_s)
    return stages, source, problem, time.monotonic() - t0


def test_a_good_endpoint_gives_its_descriptors(serve):
    stages, source, problem, _ = ask(serve(answer(chat(GOOD))).url)
    assert (stages, source, problem) == (["A person crouches.", "The person springs upward.", "The person lands."],
                                         "llm", "")


def test_the_environments_proxy_carries_the_request(serve, monkeypatch):
    seen: list[str] = []

    def proxy(h, server):
        seen.append(h.path)  # a proxy is asked for the absolute URL
        answer(chat(GOOD))(h, server)
    via = serve(proxy)
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", via.url.removesuffix("/v1"))
    stages, source, problem, _ = ask("http://llm.invalid:9/v1")
    assert seen and seen[0].startswith("http://llm.invalid:9/v1") and (source, problem) == ("llm", "")
    assert stages[0] == "A person crouches."


@pytest.mark.parametrize("behave", [trickle_body, trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_is_given_up_at_the_overall_deadline(serve, behave):
    stages, source, problem, took = ask(serve(behave).url, timeout_s=2.0)
    assert source == "template" and stages == template_stages("jump", 3)
    assert "no complete answer within 2 s" in problem and 1.9 < took < 3.0, (problem, took)


def test_an_endless_body_is_cut_at_the_size_limit(serve):
    server = serve(endless)
    stages, source, problem, took = ask(server.url)
    assert source == "template" and "answered too much" in problem and "1024 KB" in problem, problem
    assert took < 5.0 and server.sent < 64 * 2**20, (took, server.sent)  # the client hung up at once


@pytest.mark.parametrize("body,words", [
    (chat("x" * 50 * 2**20), "answered too much"),
    (chat(None), "answered null as the message content, not text"),
    (chat(["a", "b"]), "not text"),
    (chat("y" * 5000), "descriptors are at most 12 lines of 300 characters"),
    (chat("\n".join(f"step {k}" for k in range(500))), "answered 500 lines"),
    (b'{"choices": [{"message": {"content": "\xff\xfe jump"}}]}', "did not answer UTF-8 text"),
    (b"[" * 100_000, "did not answer JSON"),
    (b"<html>busy</html>", "did not answer JSON"),
    (json.dumps({"error": "x"}).encode(), "without choices[0].message.content"),
], ids=["50MB", "null", "list", "long line", "500 lines", "not UTF-8", "deep", "html", "no choices"])
def test_a_bad_answer_falls_back_to_the_templates_with_a_message(serve, body, words):
    stages, source, problem, took = ask(serve(answer(body)).url)
    assert source == "template" and stages == template_stages("jump", 3), (source, stages)
    assert words in problem and took < 10.0, problem


def test_an_unusable_or_dead_address_falls_back(serve):
    for url, words in (("127.0.0.1:1/v1", "not an http:// or https:// address"),
                       (f"http://127.0.0.1:{free_port()}/v1", "cannot reach LLM endpoint")):
        stages, source, problem, took = ask(url)
        assert source == "template" and words in problem and took < 5.0, problem


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cancel_in_the_window_stops_a_trickling_request_within_a_second(make_window, qtbot, serve):
    server = serve(trickle_body)
    window = make_window(app_settings=settings())
    window.store.update(llm_url=server.url)
    window.new_project()
    name = window.state.add_action("jump", [])
    ended: list[str] = []
    window.runner.cancelled.connect(ended.append)
    window.generate_descriptors(name)
    qtbot.waitUntil(lambda: server.sent > 0, timeout=5000)
    t0 = time.monotonic()
    window.runner.cancel()
    wait_idle(qtbot, window, timeout_s=5.0)
    took = time.monotonic() - t0
    assert took < 1.0 and ended == ["Generating descriptors"], (took, ended)
    assert window.state.project.action(name).descriptors == []
