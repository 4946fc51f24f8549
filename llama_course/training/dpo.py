"""Direct preference optimisation (DPO; Rafailov et al. 2023): tune a model on pairs of replies, one preferred,
against a frozen copy of itself (the reference), with no reward model and no sampling.

With log-probabilities of whole replies, ``log pi(y|x)`` under the model being trained and ``log ref(y|x)`` under
the reference, the implicit reward of a reply is ``beta * (log pi(y|x) - log ref(y|x))`` and the loss of a pair is
``-log sigmoid(reward(chosen) - reward(rejected))``: the Bradley-Terry likelihood of the preference, under the
policy that maximises reward minus ``beta`` times the KL divergence from the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.batches import pad
from ..data.preferences import PreferencePair
from ..model import Llama, module_device
from .instruct import Example, encode_examples
from .loop import History, example_loss, train
from .recipe import TrainConfig

Encoded = tuple[list[int], list[int]]  # (inputs, targets) of one chat sequence, -100 on the prompt


def fitting_pairs(tokenizer, pairs: Sequence[PreferencePair], max_len: int) -> list[PreferencePair]:
    """The pairs whose both replies fit in ``max_len`` tokens with their prompt, in the chat format."""
    prompts = tokenizer.encode_batch([p.prompt for p in pairs])
    chosen = tokenizer.encode_batch([p.chosen for p in pairs])
    rejected = tokenizer.encode_batch([p.rejected for p in pairs])
    return [p for p, a, b, c in zip(pairs, prompts, chosen, rejected, strict=True)
            if len(a) + max(len(b), len(c)) + 4 <= max_len]


def encode_pairs(tokenizer, pairs: Sequence[PreferencePair], max_len: int) -> list[tuple[Encoded, Encoded]]:
    """(chosen, rejected) of each pair as chat sequences whose targets are the reply and its ``<|end|>`` only."""
    chosen = encode_examples(tokenizer, [Example(p.prompt, p.chosen) for p in pairs], max_len)
    rejected = encode_examples(tokenizer, [Example(p.prompt, p.rejected) for p in pairs], max_len)
    return list(zip(chosen, rejected, strict=True))


def sequence_logprobs(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(reply | prompt) of each row: the sum of the log-probabilities of its targets (those not -100)."""
    logits = model(inputs).float()
    mask = targets != -100
    picked = torch.gather(F.log_softmax(logits, dim=-1), -1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def _batch_logprobs(model: nn.Module, rows: Sequence[Encoded], pad_id: int) -> torch.Tensor:
    device = module_device(model)
    x = pad([r[0] for r in rows], pad_id).to(device)
    y = pad([r[1] for r in rows], -100).to(device)
    return sequence_logprobs(model, x, y)


def dpo_loss(chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean loss, rewards of the chosen replies, rewards of the rejected) from the four log-probabilities of each
    pair: ``-log sigmoid(beta * ((chosen - ref_chosen) - (rejected - ref_rejected)))``."""
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    chosen_rewards = beta * (chosen - ref_chosen)
    rejected_rewards = beta * (rejected - ref_rejected)
    loss = -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()


@torch.no_grad()
def pair_logprobs(model: nn.Module, tokenizer, encoded: Sequence[tuple[Encoded, Encoded]],
                  batch_size: int = 32) -> torch.Tensor:
    """``(n, 2)``: log p(chosen) and log p(rejected) of every pair under ``model`` (put in eval mode)."""
    model.eval()
    out = []
    for i in range(0, len(encoded), batch_size):
        part = encoded[i:i + batch_size]
        logps = _batch_logprobs(model, [c for c, _ in part] + [r for _, r in part], tokenizer.pad_id)
        out.append(logps.view(2, -1).T.cpu())
    return torch.cat(out)


def train_dpo(model: Llama, reference: nn.Module, tokenizer, pairs: Sequence[PreferencePair], config: TrainConfig,
              beta: float = 0.1, progress: bool = True) -> History:
    """Tune ``model`` on the pairs with the DPO loss against ``reference``, a frozen model (usually a copy of
    ``model`` before tuning). The reference never changes, so its log-probabilities are computed once, up front."""
    encoded = encode_pairs(tokenizer, pairs, model.config.max_seq_len)
    ref = pair_logprobs(reference, tokenizer, encoded).to(model.device)
    dpo_loss(ref[:1, 0], ref[:1, 1], ref[:1, 0], ref[:1, 1], beta)  # a bad beta is refused before training

    def loss_of(net: nn.Module, rows: list[int]) -> tuple[torch.Tensor, int]:
        chosen = [encoded[r][0] for r in rows]
        rejected = [encoded[r][1] for r in rows]
        logps = _batch_logprobs(net, chosen + rejected, tokenizer.pad_id)
        loss, _, _ = dpo_loss(logps[:len(rows)], logps[len(rows):], ref[rows, 0], ref[rows, 1], beta)
        return loss, sum(len(e[0]) for e in chosen + rejected)

    return train(model, example_loss(len(pairs), config, loss_of), None, config, progress=progress, desc="DPO")


def preference_scores(model: Llama, reference: nn.Module | torch.Tensor, tokenizer,
                      pairs: Sequence[PreferencePair], beta: float = 0.1) -> dict[str, float]:
    """How the model ranks held-out pairs. ``win_rate``: the share where it gives the chosen reply the higher
    log-probability (``win_rate/KIND`` per kind); ``margin``: the mean implicit reward margin
    ``beta * ((log pi - log ref)(chosen) - (log pi - log ref)(rejected))``, 0 for the reference itself;
    ``reward_accuracy``: the share of pairs with a positive margin. ``reference`` is the reference model, or its
    :func:`pair_logprobs` on these pairs, computed once for many scorings."""
    if not pairs:
        raise ValueError("no preference pairs to score")
    encoded = encode_pairs(tokenizer, pairs, model.config.max_seq_len)
    logps = pair_logprobs(model, tokenizer, encoded)
    ref = reference if isinstance(reference, torch.Tensor) else pair_logprobs(reference, tokenizer, encoded)
    if ref.shape != logps.shape:
        raise ValueError(f"reference log-probabilities should have shape {tuple(logps.shape)} (one row per pair), "
                         f"got {tuple(ref.shape)}")
    wins = logps[:, 0] > logps[:, 1]
    _, chosen_rewards, rejected_rewards = dpo_loss(logps[:, 0], logps[:, 1], ref[:, 0], ref[:, 1], beta)
    margins = chosen_rewards - rejected_rewards
    scores = {"win_rate": wins.float().mean().item()}
    for kind in sorted({p.kind for p in pairs}):
        rows = torch.tensor([p.kind == kind for p in pairs])
        scores[f"win_rate/{kind}"] = wins[rows].float().mean().item()
    scores["margin"] = margins.mean().item()
    scores["reward_accuracy"] = (margins > 0).float().mean().item()
    return scores
