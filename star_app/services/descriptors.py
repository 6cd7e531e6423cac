"""Stage descriptors for an action: from the chat endpoint configured in Settings, or templates."""
from __future__ import annotations

from typing import Optional

from star_model.nn.descriptors import LLMEndpoint, resolve_stages
from star_model.schema import CancelFn


LLM_TIMEOUT_S = 30.0
"""The longest the whole request may take (a server that trickles its answer is given up then)."""


def generate_descriptors(name: str, url: str, model: str, api_key: str, count: int = 3,
                         cancel: Optional[CancelFn] = None,
                         timeout_s: float = LLM_TIMEOUT_S) -> tuple[list[str], str, str]:
    """``count`` ordered stage descriptors of ``name``, their source (``llm`` or ``template``) and, when the
    configured endpoint failed (no complete answer within ``timeout_s``, more than 1 MB, not text, too long), why
    (the templates are used instead; "" otherwise). ``cancel()`` true stops the request within ~0.1 s
    (Cancelled).

    Runs in a worker: the chat request may take seconds.
    """
    endpoint = LLMEndpoint(url.strip(), model or "default", api_key or None, timeout_s) if url.strip() else None
    problems: list[str] = []
    stages, source = resolve_stages(name, count, endpoint=endpoint, on_problem=problems.append, cancel=cancel)
    return stages, source, problems[0] if problems else ""
