"""Text generation: feed the prompt once, then sample one token at a time with a KV cache."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .model import Llama


def sample_next(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One token id per row of ``logits`` (batch, vocab): the argmax when ``temperature == 0``, otherwise a
    draw from ``softmax(logits / temperature)`` restricted to the ``top_k`` most likely tokens."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        kth = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(
    model: Llama,
    prompt: Sequence[int] | torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    stop_id: int | None = None,
) -> list[int]:
    """The new token ids after ``prompt`` (a list of ids); stops early at ``stop_id`` or when the
    context is full. ``seed`` makes sampling repeatable."""
    device = model.tok_embeddings.weight.device
    ids = torch.as_tensor(list(prompt) if not isinstance(prompt, torch.Tensor) else prompt, device=device)
    if ids.dim() != 1 or ids.numel() == 0:
        raise ValueError("prompt must be a non-empty list of token ids")
    room = model.config.max_seq_len - ids.numel()
    if room <= 0:
        raise ValueError(f"the prompt has {ids.numel()} tokens, leaving no room in the context of "
                         f"{model.config.max_seq_len}")
    generator = None
    if seed is not None and temperature > 0:
        generator = torch.Generator(device=device).manual_seed(seed)
    steps = min(max_new_tokens, room)
    cache = model.new_cache(1, ids.numel() + steps)
    logits = model(ids[None], cache=cache)[:, -1]
    new: list[int] = []
    for i in range(steps):
        token = sample_next(logits, temperature, top_k, generator)
        new.append(int(token))
        if new[-1] == stop_id or i == steps - 1:
            break
        logits = model(token[:, None], cache=cache)[:, -1]
    return new


def complete(model: Llama, tokenizer, prompt: str, max_new_tokens: int = 100, **sampling) -> str:
    """``prompt`` followed by the model's continuation, as text (generation stops at ``</s>``)."""
    ids = tokenizer.encode(prompt, bos=True)
    new = generate(model, ids, max_new_tokens, stop_id=tokenizer.eos_id, **sampling)
    return tokenizer.decode(ids + new)
