"""One bounded HTTP POST: an overall deadline, a size limit on the answer, and cancel honoured at once.

urllib's timeout is per read, so a server that trickles a byte every few seconds never times out, and
``read()`` takes an endless body into memory. :func:`post` runs the exchange on a daemon thread and waits
for it in short steps: past the deadline, or once ``cancel()`` is true, it shuts the socket (which ends the
thread's read) and returns within about :data:`POLL_S`. The answer is read in chunks and refused once it
passes ``max_bytes``. The environment's proxies (``http_proxy``, ``https_proxy``, ``no_proxy``) are used
as urllib uses them: plain HTTP through the proxy, HTTPS tunnelled through it.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Optional
from urllib.parse import SplitResult, urlsplit
from urllib.request import getproxies, proxy_bypass

from star_model.errors import Cancelled
from star_model.schema import CancelFn

POLL_S = 0.1
CHUNK = 65536


class HTTPFailure(Exception):
    """The exchange failed; ``kind`` is ``address``, ``connect``, ``status``, ``deadline`` or ``size``."""

    def __init__(self, kind: str, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.kind, self.status = kind, status


@dataclass
class _Outcome:
    status: int = 0
    body: bytes = b""
    error: Optional[BaseException] = None


def connection(parts: SplitResult, timeout_s: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for the URL ``parts`` (through the environment's proxy for its scheme unless its host
    is exempt) and the request target to send on it."""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host, port = parts.hostname or "", parts.port
    proxy = getproxies().get(parts.scheme)
    if proxy and not proxy_bypass(host):
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(via.hostname or "", via.port or 8080, timeout=timeout_s,
                                               context=ssl.create_default_context())
            conn.set_tunnel(host, port or 443)
            return conn, target
        return http.client.HTTPConnection(via.hostname or "", via.port or 8080, timeout=timeout_s), parts.geturl()
    if parts.scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout_s, context=ssl.create_default_context()), target
    return http.client.HTTPConnection(host, port, timeout=timeout_s), target


class _Exchange(threading.Thread):
    """The request and the bounded read of its answer, on a thread of its own."""

    def __init__(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float, max_bytes: int) -> None:
        super().__init__(daemon=True, name="llm-http")
        self.url, self.body, self.headers, self.timeout_s, self.max_bytes = url, body, headers, timeout_s, max_bytes
        self.outcome = _Outcome()
        self.conn: Optional[http.client.HTTPConnection] = None
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            self.conn, target = connection(urlsplit(self.url), self.timeout_s)
            if self.stopped.is_set():
                return
            self.conn.request("POST", target, body=self.body, headers=self.headers)
            response = self.conn.getresponse()
            self.outcome.status = response.status
            self.outcome.body = self._read(response)
        except BaseException as exc:  # reported to the waiting caller, whatever it is
            self.outcome.error = exc
        finally:
            if self.conn is not None:
                self.conn.close()

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while not self.stopped.is_set():
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise HTTPFailure("size", f"the answer is larger than {self.max_bytes // 1024} KB")
            chunks.append(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        """End the exchange now: the socket is shut, so a blocked read returns."""
        self.stopped.set()
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float, max_bytes: int,
         cancel: Optional[CancelFn] = None) -> tuple[int, bytes]:
    """POST ``body`` to ``url``; the status and the whole answer, read within ``timeout_s`` seconds in all
    and at most ``max_bytes`` long. Raises :class:`HTTPFailure`, or Cancelled once ``cancel()`` is true."""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise HTTPFailure("address", "it is not an http:// or https:// address")
    exchange = _Exchange(url, body, headers, timeout_s + 1.0, max_bytes)  # the deadline below ends it first
    deadline = time.monotonic() + timeout_s
    exchange.start()
    while exchange.is_alive():
        exchange.join(POLL_S)
        if cancel is not None and cancel():
            exchange.stop()
            raise Cancelled()
        if exchange.is_alive() and time.monotonic() > deadline:
            exchange.stop()
            raise HTTPFailure("deadline", f"no complete answer within {timeout_s:g} s")
    error = exchange.outcome.error
    if isinstance(error, HTTPFailure):
        raise error
    if isinstance(error, TimeoutError):
        raise HTTPFailure("deadline", f"no complete answer within {timeout_s:g} s") from error
    if error is not None:
        raise HTTPFailure("connect", str(error) or type(error).__name__) from error
    if exchange.outcome.status >= 400:
        raise HTTPFailure("status", f"HTTP {exchange.outcome.status}", exchange.outcome.status)
    return exchange.outcome.status, exchange.outcome.body
