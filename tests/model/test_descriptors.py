"""Descriptors from the user, a real OpenAI-compatible HTTP server on 127.0.0.1, or templates."""
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from star_model.errors import DescriptorError
from star_model.nn.descriptors import (
    LLMEndpoint,
    fit_stages,
    llm_stages,
    read_descriptor_file,
    resolve_stages,
    template_stages,
)


class _ChatServer:
    def __init__(self, status=200, content="1. A person crouches.\n2. The person springs upward.\n3. The person lands."):
        outer = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body, self.headers.get("Authorization")))
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_llm_endpoint_gives_ordered_stages():
    with _ChatServer() as server:
        stages = llm_stages("jump", LLMEndpoint(server.url, model="llama", api_key="k"), 3)
    assert stages == ["A person crouches.", "The person springs upward.", "The person lands."]
    path, body, auth = server.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "llama" and auth == "Bearer k"
    assert "jump" in body["messages"][-1]["content"]


def test_endpoint_errors_are_readable_and_resolve_falls_back(caplog):
    with _ChatServer(status=500) as server:
        with pytest.raises(DescriptorError, match="HTTP 500"):
            llm_stages("jump", LLMEndpoint(server.url), 3)
    dead = LLMEndpoint("http://127.0.0.1:9/v1", timeout_s=2)
    with caplog.at_level(logging.WARNING):
        stages, source = resolve_stages("jump", 3, endpoint=dead)
    assert source == "template" and stages == template_stages("jump", 3)
    assert "cannot reach LLM endpoint" in caplog.text


def test_sources_in_order_of_preference():
    with _ChatServer() as server:
        ep = LLMEndpoint(server.url)
        assert resolve_stages("jump", 3, user=["a", "b", "c"], endpoint=ep) == (["a", "b", "c"], "user")
        assert resolve_stages("jump", 3, user=["  "], endpoint=ep)[1] == "llm"
    assert resolve_stages("jump", 3)[1] == "template"


def test_fit_stages_and_templates(tmp_path):
    assert template_stages("wave") == ["the start of wave", "wave in progress", "the end of wave"]
    assert len(template_stages("wave", 5)) == 5 and len(template_stages("wave", 1)) == 1
    assert fit_stages(["a", "b", "c", "d"], "x", 3) == ["a", "b", "c; then d"]
    assert fit_stages(["a"], "x", 3) == ["a", "a", "a"]
    (tmp_path / "descriptors.txt").write_text("first\n\n  second \nthird\n")
    assert read_descriptor_file(tmp_path / "descriptors.txt") == ["first", "second", "third"]
