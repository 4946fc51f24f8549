"""Long context: how the loss depends on the position in the window, and a model given a longer context (with
its RoPE scaled or not) to measure and continue training."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from ..config import RopeScaling
from ..data.batches import TokenDataset
from ..model import Llama


def with_context(model: Llama, max_seq_len: int, scaling: RopeScaling | None = None) -> Llama:
    """A new model with ``model``'s weights, a context of ``max_seq_len`` tokens and the RoPE ``scaling`` given
    (None: plain RoPE, the angles simply continue past the old context)."""
    config = dataclasses.replace(model.config, max_seq_len=max_seq_len, rope_scaling=scaling)
    longer = Llama(config).to(model.device)
    longer.load_state_dict(model.state_dict())
    return longer.eval()


@torch.no_grad()
def loss_by_position(model: Llama, data: TokenDataset, max_windows: int = 32, batch_size: int = 8) -> torch.Tensor:
    """Mean next-token cross-entropy at each position of ``data``'s validation windows: ``(data.context,)``."""
    if data.context > model.config.max_seq_len:
        raise ValueError(f"windows of {data.context} tokens do not fit the model's context of "
                         f"{model.config.max_seq_len}: use with_context() first")
    model.eval()
    total, count = torch.zeros(data.context, dtype=torch.float64), 0
    for x, y in data.batches(batch_size, max_windows):
        logits = model(x.to(model.device)).float()
        losses = F.cross_entropy(logits.transpose(1, 2), y.to(model.device), reduction="none")
        total, count = total + losses.sum(0).double().cpu(), count + len(x)
    return (total / count).float()
