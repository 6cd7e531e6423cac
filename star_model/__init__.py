"""STAR: Semantic-Temporal Adaptive Representation Learning for few-shot action recognition.

The compute package of STAR Labeler. It imports PyTorch only (never Qt); mamba_ssm, triton
and CUDA are optional and chosen at call time.
"""
from .config import ModelConfig, load_config
from .factory import create_model, list_models
from .model import STAR, EpisodeOutput
from .tsa import TextBank

__version__ = "0.1.0"

__all__ = ["STAR", "EpisodeOutput", "ModelConfig", "TextBank", "create_model", "list_models", "load_config", "__version__"]
