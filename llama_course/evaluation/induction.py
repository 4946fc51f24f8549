"""Induction heads (Olsson et al. 2022): a head that, at a token, attends to the token that *followed* that
token's previous occurrence, so the model can copy a sequence it has seen before in its context."""

from __future__ import annotations

import torch

from ..model import Llama


@torch.no_grad()
def repeated_tokens(model: Llama, length: int = 40, batch: int = 8, seed: int = 0, low: int = 300) -> torch.Tensor:
    """``batch`` rows of ``<s>``-free random tokens, each a random sequence of ``length`` ids written twice:
    nothing predicts the first half, and only copying predicts the second."""
    if 2 * length > model.config.max_seq_len:
        raise ValueError(f"two copies of {length} tokens do not fit the context of {model.config.max_seq_len}")
    generator = torch.Generator().manual_seed(seed)
    half = torch.randint(low, model.config.vocab_size, (batch, length), generator=generator)
    return torch.cat([half, half], dim=1)


@torch.no_grad()
def induction_scores(model: Llama, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, per-position loss) on sequences written twice (:func:`repeated_tokens`). ``scores[layer, head]``
    is the mean attention that second-half positions t pay to position t - length + 1, the token after the
    previous occurrence of token t; the loss (batch mean, per position) shows the copying pay off."""
    length = tokens.size(1) // 2
    device = model.tok_embeddings.weight.device
    model.eval()
    with model.capture_attention() as maps:
        logits = model(tokens.to(device))
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().flatten(0, 1).cpu(), tokens[:, 1:].flatten(),
                                             reduction="none").view(tokens.size(0), -1).mean(0)
    queries = torch.arange(length, 2 * length - 1)
    scores = torch.stack([m[:, :, queries, queries - length + 1].float().mean(dim=(0, 2)).cpu() for m in maps])
    return scores, loss
