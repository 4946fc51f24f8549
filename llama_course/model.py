"""The LLaMA model: RMSNorm, SwiGLU, the pre-norm Transformer block, and the decoder-only stack.

Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language Models", section 2.2: pre-
normalization with RMSNorm, SwiGLU feed-forward, rotary embeddings, no biases.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from .attention import Attention, KVCache
from .config import LlamaConfig
from .rope import precompute_rope


class RMSNorm(nn.Module):
    """Root-mean-square norm (Zhang & Sennrich 2019): ``x / sqrt(mean(x^2) + eps) * weight``.

    Unlike LayerNorm it neither subtracts the mean nor adds a bias.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.type_as(x)


class FeedForward(nn.Module):
    """SwiGLU (Shazeer 2020): ``w2(silu(w1 x) * w3 x)``; w1 is the gate, w3 the up, w2 the down projection."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    """One pre-norm Transformer block: ``h = x + attn(norm(x))``, then ``h + ffn(norm(h))``."""

    def __init__(self, config: LlamaConfig, layer_index: int = 0) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(config.dim, config.norm_eps)
        self.attention = Attention(config, layer_index)
        self.ffn_norm = RMSNorm(config.dim, config.norm_eps)
        self.feed_forward = FeedForward(config.dim, config.hidden_dim)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None = None
    ) -> torch.Tensor:
        h = x + self.attention(self.attention_norm(x), cos, sin, cache)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama(nn.Module):
    """A decoder-only LLaMA: embeddings, ``n_layers`` blocks, a final RMSNorm, and the output head.

    ``model(tokens)`` returns logits (batch, seq, vocab); ``model(tokens, targets)`` returns
    ``(logits, loss)`` with the mean cross-entropy of predicting ``targets`` (-100 = ignore).
    Parameter names follow Meta's reference code, so its checkpoints map one to one.
    """

    rope_cos: torch.Tensor  # buffers (init_rope registers them)
    rope_sin: torch.Tensor

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        if not isinstance(config, LlamaConfig):
            raise TypeError(f"Llama needs a LlamaConfig, got {type(config).__name__}")
        self.config = config
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.output = nn.Linear(config.dim, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.output.weight = self.tok_embeddings.weight
        self.init_rope()
        self.reset_parameters()

    def init_rope(self, device: torch.device | str | None = None) -> None:
        """(Re)compute the rotary cosines and sines for every position; they are derived, not saved."""
        c = self.config
        cos, sin = precompute_rope(c.head_dim, c.max_seq_len, c.rope_theta, c.rope_scaling)
        self.register_buffer("rope_cos", cos.to(device), persistent=False)
        self.register_buffer("rope_sin", sin.to(device), persistent=False)

    def reset_parameters(self, std: float = 0.02) -> None:
        """Normal(0, std) weights; the projections that write into the residual stream (wo, w2) get
        ``std / sqrt(2 * n_layers)`` so the stream's variance does not grow with depth (GPT-2's rule)."""
        residual_std = std / math.sqrt(2 * self.config.n_layers)
        for name, p in self.named_parameters():
            if name.endswith(("attention.wo.weight", "feed_forward.w2.weight")):
                nn.init.normal_(p, 0.0, residual_std)
            elif p.dim() == 2:
                nn.init.normal_(p, 0.0, std)
            else:
                nn.init.ones_(p)  # RMSNorm gains

    def forward(
        self, tokens: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if targets is not None and not torch.compiler.is_compiling():
            self._check_targets(tokens, targets)
        logits = self.output(self.hidden_states(tokens, cache))
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-100)
        return logits, loss

    def hidden_states(self, tokens: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """The final normalized hidden states (batch, seq, dim): what the output head (or a classifier) reads."""
        start = 0 if cache is None else cache.pos
        if not torch.compiler.is_compiling():  # the checks read values, which would split a compiled graph
            self._check_tokens(tokens, start, cache)
        seq = tokens.size(1)
        cos, sin = self.rope_cos[start : start + seq], self.rope_sin[start : start + seq]
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h, cos, sin, cache)
        if cache is not None:
            cache.advance(seq)
        return self.norm(h)

    def _check_tokens(self, tokens: torch.Tensor, start: int, cache: KVCache | None) -> None:
        """Clear errors for the mistakes learners make, before they become shape tracebacks."""
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"tokens must be a torch.Tensor of token ids, got {type(tokens).__name__}")
        if tokens.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"tokens must hold integer ids (torch.long), got dtype {tokens.dtype}")
        if tokens.dim() != 2:
            hint = " (for one sequence use tokens[None])" if tokens.dim() == 1 else ""
            raise ValueError(f"tokens must have shape (batch, seq_len), got {tuple(tokens.shape)}{hint}")
        if tokens.size(0) == 0 or tokens.size(1) == 0:
            raise ValueError(f"tokens {tuple(tokens.shape)} is empty: give at least one sequence of at least one token")
        limit = self.config.max_seq_len if cache is None else cache.max_seq_len
        if start + tokens.size(1) > limit:
            where = f"{start} cached + {tokens.size(1)} new" if cache is not None else f"{tokens.size(1)}"
            raise ValueError(f"sequence of {where} tokens is longer than the maximum of {limit}")
        if cache is not None and tokens.size(0) != cache.keys[0].size(0):
            raise ValueError(f"tokens has batch {tokens.size(0)} but the cache was made for {cache.keys[0].size(0)}")
        check_token_ids(tokens, self.config.vocab_size)

    @staticmethod
    def _check_targets(tokens: torch.Tensor, targets: torch.Tensor) -> None:
        if not isinstance(targets, torch.Tensor) or targets.dtype not in (torch.int64, torch.int32):
            raise TypeError("targets must be a tensor of integer token ids (torch.long)")
        if targets.shape != tokens.shape:
            raise ValueError(
                f"targets must have the same shape as tokens {tuple(tokens.shape)}, got {tuple(targets.shape)}"
            )

    @contextlib.contextmanager
    def capture_attention(self) -> Iterator[list[torch.Tensor]]:
        """Record attention weights during forward passes: one (batch, heads, q, k) tensor per layer.

        >>> with model.capture_attention() as maps:
        ...     model(tokens)
        """
        maps: list[torch.Tensor] = []
        attentions = [cast(Block, layer).attention for layer in self.layers]  # an nn.ModuleList holds Modules
        for attention in attentions:
            attention.captured = maps
        try:
            yield maps
        finally:
            for attention in attentions:
                attention.captured = None

    def num_params(self, embeddings: bool = True) -> int:
        """Number of parameters; with ``embeddings=False`` the token embedding table is left out
        (the output head counts unless it is tied to the embeddings)."""
        total = sum(p.numel() for p in self.parameters())  # a tied weight is counted once
        return total if embeddings else total - self.tok_embeddings.weight.numel()

    @property
    def device(self) -> torch.device:
        """Where the weights are (a course model is never split across devices)."""
        return self.tok_embeddings.weight.device

    def new_cache(self, batch_size: int = 1, max_seq_len: int | None = None) -> KVCache:
        """An empty KV cache on this model's device and dtype."""
        weight = self.tok_embeddings.weight
        return KVCache(self.config, batch_size, max_seq_len, device=weight.device, dtype=weight.dtype)


def module_device(module: nn.Module) -> torch.device:
    """Where any module's weights are: a Llama, a classifier around one, or a wrapped (DDP, compiled) network."""
    return next(module.parameters()).device


def check_token_ids(tokens: torch.Tensor, vocab_size: int, hint: str = "") -> None:
    """A clear error naming an id outside [0, vocab_size), which the embedding lookup would report obscurely."""
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"token id {bad} is out of range: ids must be in [0, {vocab_size}){hint}")


def count_params(config: LlamaConfig, embeddings: bool = True) -> int:
    """Parameters of a model with this config, counted from the shapes without building it."""
    c = config
    attention = c.dim * c.n_heads * c.head_dim * 2 + c.dim * c.n_kv_heads * c.head_dim * 2
    feed_forward = 3 * c.dim * c.hidden_dim
    per_layer = attention + feed_forward + 2 * c.dim  # two RMSNorm gains
    output = 0 if c.tie_embeddings else c.vocab_size * c.dim
    total = c.vocab_size * c.dim + c.n_layers * per_layer + c.dim + output
    return total if embeddings else total - c.vocab_size * c.dim


def weight_shapes(config: LlamaConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every weight of a model with this config (the tied head left out), from the
    config alone: a weight file can be checked against it before anything is allocated."""
    c = config
    q, kv = c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim
    per_layer: dict[str, tuple[int, ...]] = {
        "attention.wq.weight": (q, c.dim), "attention.wk.weight": (kv, c.dim), "attention.wv.weight": (kv, c.dim),
        "attention.wo.weight": (c.dim, q), "feed_forward.w1.weight": (c.hidden_dim, c.dim),
        "feed_forward.w2.weight": (c.dim, c.hidden_dim), "feed_forward.w3.weight": (c.hidden_dim, c.dim),
        "attention_norm.weight": (c.dim,), "ffn_norm.weight": (c.dim,),
    }
    shapes: dict[str, tuple[int, ...]] = {"tok_embeddings.weight": (c.vocab_size, c.dim)}
    shapes.update({f"layers.{i}.{name}": shape for i in range(c.n_layers) for name, shape in per_layer.items()})
    shapes["norm.weight"] = (c.dim,)
    if not c.tie_embeddings:
        shapes["output.weight"] = (c.vocab_size, c.dim)
    return shapes


def flops_per_token(config: LlamaConfig, seq_len: int | None = None, training: bool = True) -> int:
    """Matmul FLOPs to process one token: ``2 N`` forward for the weights (embedding lookup excluded)
    plus ``4 * n_layers * seq_len * dim`` for the attention scores and weighted sum; training
    (forward + backward) is 3x forward, the ``6N + 12 L T d`` of PaLM (Chowdhery et al. 2022, appendix B). Kaplan et
    al. 2020 (Table 1) count N without the embeddings and only the scores: ``2N + 2 n_layer n_ctx d_attn`` forward."""
    seq_len = config.max_seq_len if seq_len is None else seq_len
    matmul_params = count_params(config, embeddings=False) - config.dim * (2 * config.n_layers + 1)
    if config.tie_embeddings:
        matmul_params += config.vocab_size * config.dim  # the tied head still multiplies
    forward = 2 * matmul_params + 4 * config.n_layers * seq_len * config.n_heads * config.head_dim
    return 3 * forward if training else forward
