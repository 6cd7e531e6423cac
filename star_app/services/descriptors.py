"""Stage descriptors for an action: from the chat endpoint configured in Settings, or templates."""
from __future__ import annotations

from star_model.nn.descriptors import LLMEndpoint, resolve_stages


def generate_descriptors(name: str, url: str, model: str, api_key: str,
                         count: int = 3) -> tuple[list[str], str, str]:
    """``count`` ordered stage descriptors of ``name``, their source (``llm`` or ``template``) and, when the
    configured endpoint failed, why (the templates are used instead; "" otherwise).

    Runs in a worker: the chat request may take seconds.
    """
    endpoint = LLMEndpoint(url, model or "default", api_key or None) if url.strip() else None
    problems: list[str] = []
    stages, source = resolve_stages(name, count, endpoint=endpoint, on_problem=problems.append)
    return stages, source, problems[0] if problems else ""
