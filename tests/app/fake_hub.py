"""A real HTTP server on 127.0.0.1 that answers like the Hugging Face hub for file downloads.

Only what cannot exist here is replaced: the hub itself. huggingface_hub talks to it over
real sockets. As the hub does for LFS files, ``HEAD/GET /{repo}/resolve/{revision}/{file}``
answers 302 to a CDN URL with ``X-Repo-Commit``, ``X-Linked-Etag`` and ``X-Linked-Size``; a
missing file is a 404 with ``X-Error-Code: EntryNotFound``. The CDN URL (a second server, so
another origin, as the hub's CDN is) serves the bytes,
optionally throttled, so that a download takes long enough to watch and to cancel.
"""
from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, files: dict[tuple[str, str], bytes], bytes_per_s: float = 0.0, block: int = 64 * 1024) -> None:
        self.files = dict(files)
        self.blobs = {hashlib.sha256(data).hexdigest(): data for data in self.files.values()}
        self.bytes_per_s = bytes_per_s
        self.block = block
        self.requests: list[tuple[str, str]] = []
        self.stop_serving = threading.Event()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:  # keep the test output clean
                pass

            def do_HEAD(self) -> None:  # noqa: N802 (http.server API)
                self._answer(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                path = unquote(self.path.split("?", 1)[0])
                hub.requests.append((self.command, path))
                if path.startswith("/cdn/"):
                    data = hub.blobs.get(path[len("/cdn/"):])
                    if data is None:
                        return self._status(404)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("ETag", f'"{path[len("/cdn/"):]}"')
                    self.end_headers()
                    if body:
                        self._stream(data)
                    return None
                if "/resolve/" not in path:
                    return self._status(404, {"X-Error-Code": "RepoNotFound"})
                repo, rest = path.lstrip("/").split("/resolve/", 1)
                _revision, filename = rest.split("/", 1)
                data = hub.files.get((repo, filename))
                if data is None:
                    return self._status(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT})
                sha = hashlib.sha256(data).hexdigest()
                self.send_response(302)
                self.send_header("Location", f"{hub.cdn_url}/cdn/{sha}")
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("X-Linked-Etag", f'"{sha}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", '"pointer-etag"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

            def _status(self, code: int, headers: dict | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _stream(self, data: bytes) -> None:
                try:
                    for i in range(0, len(data), hub.block):
                        if hub.stop_serving.is_set():
                            return
                        self.wfile.write(data[i:i + hub.block])
                        if hub.bytes_per_s:
                            time.sleep(hub.block / hub.bytes_per_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped the download

        self.servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
        for server in self.servers:
            server.daemon_threads = True
        self.url, self.cdn_url = (f"http://127.0.0.1:{s.server_address[1]}" for s in self.servers)
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers]

    def __enter__(self) -> "FakeHub":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop_serving.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def gets(self) -> int:
        """How many file bodies were requested."""
        return sum(1 for method, path in self.requests if method == "GET" and path.startswith("/cdn/"))
