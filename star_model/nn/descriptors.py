"""Class prompts and temporally ordered stage descriptors.

Each action has a prompt ("a video of {name}") and S stage descriptors, in order (what
happens first, then, last). Sources, in order of preference: the user's own text; an
OpenAI-compatible chat endpoint (a local llama.cpp or Ollama server, say); the built-in
templates below (:func:`resolve_stages`).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from star_model.errors import DescriptorError
from star_model.nn.llm_http import HTTPFailure, post
from star_model.schema import CancelFn

log = logging.getLogger(__name__)

MAX_ANSWER_LINES = 12
MAX_LINE_CHARS = 300
TEMPLATES = ("the start of {name}", "{name} in progress", "the end of {name}")


@dataclass
class LLMEndpoint:
    """An OpenAI-compatible chat completions endpoint, e.g. ``http://127.0.0.1:8080/v1``; ``timeout_s`` bounds
    the whole exchange, ``max_bytes`` the answer."""

    url: str
    model: str = "default"
    api_key: Optional[str] = None
    timeout_s: float = 30.0
    max_bytes: int = 2**20


def class_prompt(name: str, template: str = "a video of {name}") -> str:
    """The class prompt for an action name."""
    return template.format(name=name)


def fit_stages(stages: Sequence[str], name: str, count: int) -> list[str]:
    """Exactly ``count`` stages: extra ones are merged into the last, missing ones come from templates."""
    cleaned = [s.strip() for s in stages if s and s.strip()]
    if len(cleaned) > count:
        cleaned = cleaned[: count - 1] + ["; then ".join(cleaned[count - 1 :])]
    if not cleaned:
        return template_stages(name, count)
    while len(cleaned) < count:
        cleaned.append(cleaned[-1])
    return cleaned


def template_stages(name: str, count: int = 3) -> list[str]:
    """The template fallback: start, in progress, end (more stages repeat the middle one)."""
    if count == 1:
        return [TEMPLATES[1].format(name=name)]
    middle = [TEMPLATES[1].format(name=name)] * (count - 2)
    return [TEMPLATES[0].format(name=name), *middle, TEMPLATES[2].format(name=name)]


def read_descriptor_file(path: Path) -> list[str]:
    """One stage descriptor per non-empty line (``descriptors.txt`` in an action folder)."""
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _chat_prompt(name: str, count: int) -> str:
    return (
        f"Describe the action '{name}' as exactly {count} short sentences, in temporal order: "
        f"what a viewer sees first, then next, then last. One sentence per line, no numbering, "
        f"no other text."
    )


def llm_stages(name: str, endpoint: LLMEndpoint, count: int = 3, cancel: Optional[CancelFn] = None) -> list[str]:
    """Ask an OpenAI-compatible chat endpoint for ``count`` ordered stage descriptors, within the endpoint's
    ``timeout_s`` in all and an answer of at most ``max_bytes``; Cancelled once ``cancel()`` is true."""
    url = endpoint.url.strip().rstrip("/")
    if not url.endswith("/chat/completions"):
        url += "/chat/completions"
    body = json.dumps(
        {
            "model": endpoint.model,
            "messages": [
                {"role": "system", "content": "You write short, visual, temporally ordered action descriptions."},
                {"role": "user", "content": _chat_prompt(name, count)},
            ],
            "temperature": 0.2,
        }
    ).encode()
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    try:
        _, raw = post(url, body, headers, endpoint.timeout_s, endpoint.max_bytes, cancel)
    except HTTPFailure as exc:
        raise DescriptorError(_failure(url, exc)) from exc
    try:
        payload = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DescriptorError(f"LLM endpoint {url} did not answer UTF-8 text; is it OpenAI-compatible?") from exc
    except (ValueError, RecursionError) as exc:
        raise DescriptorError(f"LLM endpoint {url} did not answer JSON; is it OpenAI-compatible?") from exc
    try:
        text = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise DescriptorError(f"LLM endpoint {url} answered without choices[0].message.content") from exc
    return _answer_stages(text, name, count, url)


def _failure(url: str, exc: HTTPFailure) -> str:
    """What went wrong with the endpoint, and what to check."""
    if exc.kind == "status":
        return f"LLM endpoint {url} answered HTTP {exc.status}; check the URL and model name in Settings"
    if exc.kind == "deadline":
        return f"LLM endpoint {url} gave no complete answer ({exc}); is the server overloaded or stuck?"
    if exc.kind == "size":
        return f"LLM endpoint {url} answered too much ({exc}); is it an OpenAI-compatible chat endpoint?"
    if exc.kind == "address":
        return f"LLM endpoint {url} cannot be used: {exc}; correct it in Settings"
    return f"cannot reach LLM endpoint {url} ({exc}); is the server running?"


def _answer_stages(text: object, name: str, count: int, url: str) -> list[str]:
    """The stages in a chat answer: text of at most MAX_ANSWER_LINES lines of MAX_LINE_CHARS characters."""
    if not isinstance(text, str):
        raise DescriptorError(f"LLM endpoint {url} answered {json.dumps(text)[:40]} as the message content, "
                              "not text")
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.):])\s*", "", line).strip() for line in text.splitlines()]
    stages = [line for line in lines if line]
    if not stages:
        raise DescriptorError(f"LLM endpoint {url} gave no descriptors for {name!r}")
    if len(stages) > MAX_ANSWER_LINES or max(map(len, stages)) > MAX_LINE_CHARS:
        raise DescriptorError(f"LLM endpoint {url} answered {len(stages)} lines of up to {max(map(len, stages))} "
                              f"characters; descriptors are at most {MAX_ANSWER_LINES} lines of "
                              f"{MAX_LINE_CHARS} characters")
    return fit_stages(stages, name, count)


def resolve_stages(
    name: str,
    count: int = 3,
    user: Optional[Sequence[str]] = None,
    endpoint: Optional[LLMEndpoint] = None,
    on_problem: Optional[Callable[[str], None]] = None,
    cancel: Optional[CancelFn] = None,
) -> tuple[list[str], str]:
    """The stages for one action and where they came from: ``user``, ``llm`` or ``template``.

    An endpoint that fails is logged, told to ``on_problem`` (its message) and falls back to the templates;
    ``cancel()`` true while it is asked raises Cancelled.
    """
    if user and any(s.strip() for s in user):
        return fit_stages(user, name, count), "user"
    if endpoint is not None:
        try:
            return llm_stages(name, endpoint, count, cancel), "llm"
        except DescriptorError as exc:
            log.warning("%s; using template descriptors for %r", exc, name)
            if on_problem is not None:
                on_problem(str(exc))
    return template_stages(name, count), "template"
