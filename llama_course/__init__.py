"""llama-course: a LLaMA built from first principles, with the tools to look inside it."""

from .attention import KVCache, causal_mask  # not `attention` itself: that name is the submodule's
from .config import PRESETS, LlamaConfig, RopeScaling
from .model import Block, FeedForward, Llama, RMSNorm, count_params, flops_per_token
from .rope import apply_rope, precompute_rope, rope_frequencies

__version__ = "0.1.0"

__all__ = [
    "PRESETS", "Block", "FeedForward", "KVCache", "Llama", "LlamaConfig", "RMSNorm", "RopeScaling",
    "apply_rope", "causal_mask", "count_params", "flops_per_token", "precompute_rope",
    "rope_frequencies",
]
