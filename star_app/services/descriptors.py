"""Stage descriptors for an action: from the chat endpoint configured in Settings, or templates."""
from __future__ import annotations

from typing import Optional

from star_model.descriptors import LLMEndpoint, resolve_stages


def generate_descriptors(name: str, url: str, model: str, api_key: str, count: int = 3) -> tuple[list[str], str]:
    """``count`` ordered stage descriptors of ``name`` and their source (``llm`` or ``template``).

    Runs in a worker: the chat request may take seconds. An unreachable endpoint falls back to templates.
    """
    endpoint: Optional[LLMEndpoint] = LLMEndpoint(url, model or "default", api_key or None) if url.strip() else None
    return resolve_stages(name, count, endpoint=endpoint)
