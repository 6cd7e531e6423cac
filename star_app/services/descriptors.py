"""Stage descriptors for an action: from the chat endpoint configured in Settings, or templates."""
from __future__ import annotations

import logging

from star_model.descriptors import DescriptorError, LLMEndpoint, llm_stages, template_stages

log = logging.getLogger(__name__)


def generate_descriptors(name: str, url: str, model: str, api_key: str,
                         count: int = 3) -> tuple[list[str], str, str]:
    """``count`` ordered stage descriptors of ``name``, their source (``llm`` or ``template``) and, when the
    configured endpoint failed, why (the templates are used instead; "" otherwise).

    Runs in a worker: the chat request may take seconds.
    """
    if not url.strip():
        return template_stages(name, count), "template", ""
    try:
        return llm_stages(name, LLMEndpoint(url, model or "default", api_key or None), count), "llm", ""
    except DescriptorError as exc:
        log.warning("%s; using template descriptors for %r", exc, name)
        return template_stages(name, count), "template", str(exc)
