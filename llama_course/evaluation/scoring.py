"""Scoring a language model the way lm-evaluation-harness does: log-likelihood of continuations (for
multiple choice, summed or length-normalised), greedy generation for exact match, and perplexity.

A model is never asked to *say* "B"; each choice is scored by how likely the model finds it as the
continuation of the context, and the most likely one is the model's answer (Brown et al. 2020, section
2.4; the harness's ``acc`` and ``acc_norm``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..files import CourseError
from ..generate import generate
from ..model import Llama
from ..progress import progress_bar

NORMALISATIONS = ("sum", "token", "char")  # acc (harness), per-token mean, acc_norm (harness: per character)


@dataclass(frozen=True)
class Continuation:
    """The log-likelihood of one continuation after its context, and the sizes to normalise it by."""

    logprob: float  # sum over the continuation's tokens of log p(token | everything before it)
    n_tokens: int
    n_chars: int
    greedy: bool  # would greedy decoding have written exactly this continuation?

    def score(self, normalise: str = "sum") -> float:
        """``logprob`` as is ("sum"), per token ("token") or per character ("char", the harness's acc_norm)."""
        if normalise not in NORMALISATIONS:
            raise ValueError(f"normalise must be one of {NORMALISATIONS}, got {normalise!r}")
        return self.logprob / {"sum": 1, "token": self.n_tokens, "char": max(self.n_chars, 1)}[normalise]


def split_ids(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids with ``<s>``, continuation ids), tokenized *together* so the continuation's first word
    gets the token it has after the context (``"Answer: Molly"`` -> ``▁Molly``, not ``▁``, ``▁Molly``).
    Where a token straddles the boundary it counts as continuation."""
    if not continuation:
        raise ValueError("a continuation must be a non-empty string")
    whole = tokenizer.encode(context + continuation, bos=True)
    head = tokenizer.encode(context, bos=True)
    common = 0
    while common < min(len(head), len(whole) - 1) and head[common] == whole[common]:
        common += 1
    return whole[:common], whole[common:]


@torch.no_grad()
def loglikelihoods(model: Llama, tokenizer, pairs: Sequence[tuple[str, str]], batch_size: int = 32,
                   progress: bool = False) -> list[Continuation]:
    """The :class:`Continuation` of each (context, continuation) pair. A context too long for the model keeps
    its last tokens (the harness truncates from the left too); a continuation that alone fills the context is
    an error."""
    if isinstance(pairs, tuple) and len(pairs) == 2 and isinstance(pairs[0], str):
        raise TypeError("loglikelihoods takes a list of (context, continuation) pairs; for one, wrap it in [ ]")
    limit = model.config.max_seq_len
    rows = []
    for context, continuation in pairs:
        head, tail = split_ids(tokenizer, context, continuation)
        if len(tail) >= limit:
            raise CourseError(f"a continuation of {len(tail)} tokens does not fit the context of {limit}")
        ids = (head + tail)[-(limit + 1):]  # inputs are ids[:-1]: at most `limit` of them
        rows.append((ids, len(tail), len(continuation)))
    model.eval()
    device = model.tok_embeddings.weight.device
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))  # similar lengths share a batch
    out: dict[int, Continuation] = {}
    for start in progress_bar(range(0, len(order), batch_size), disable=not progress, desc="scoring"):
        chunk = order[start:start + batch_size]
        width = max(len(rows[i][0]) for i in chunk) - 1
        x = torch.full((len(chunk), width), tokenizer.pad_id, dtype=torch.long)
        for j, i in enumerate(chunk):
            ids = rows[i][0][:-1]
            x[j, :len(ids)] = torch.tensor(ids)
        logprobs = F.log_softmax(model(x.to(device)).float(), dim=-1).cpu()
        for j, i in enumerate(chunk):
            ids, n, n_chars = rows[i]
            positions = torch.arange(len(ids) - 1 - n, len(ids) - 1)
            targets = torch.tensor(ids[-n:])
            picked = logprobs[j, positions]
            out[i] = Continuation(float(picked[torch.arange(n), targets].sum()), n, n_chars,
                                  bool((picked.argmax(-1) == targets).all()))
    return [out[i] for i in range(len(rows))]


def choose(scores: Sequence[Continuation], normalise: str = "sum") -> int:
    """The index of the most likely choice under ``normalise`` (the first one on a tie)."""
    values = [c.score(normalise) for c in scores]
    return max(range(len(values)), key=values.__getitem__)


@torch.no_grad()
def greedy_answers(model: Llama, tokenizer, prompts: Sequence[str], max_new_tokens: int = 12,
                   stop: str = "\n") -> list[str]:
    """The greedy continuation of each prompt, cut at the first ``stop`` and stripped: how a generative task
    (exact match, BLEU) is scored."""
    if isinstance(prompts, str):
        raise TypeError("greedy_answers takes a list of prompts")
    limit = model.config.max_seq_len
    encoded = [tokenizer.encode(p, bos=True)[-(limit - max_new_tokens):] for p in prompts]
    said = generate(model, encoded, max_new_tokens, temperature=0)
    texts = []
    for ids, new in zip(encoded, said, strict=True):
        text = tokenizer.decode(ids + new)[len(tokenizer.decode(ids)):]
        texts.append(text.split(stop)[0].strip() if stop else text.strip())
    return texts


@torch.no_grad()
def perplexity(model: Llama, tokenizer, texts: Sequence[str], batch_size: int = 16) -> float:
    """exp(mean cross-entropy per token) over ``texts``, each read from ``<s>`` (its first context's worth)."""
    if isinstance(texts, str) or not texts:
        raise ValueError("perplexity needs a non-empty list of texts")
    limit = model.config.max_seq_len
    rows = [ids[:limit + 1] for ids in tokenizer.encode_batch(texts, bos=True)]
    device = model.tok_embeddings.weight.device
    total, count = 0.0, 0
    model.eval()
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        width = max(len(r) for r in chunk)
        x = torch.full((len(chunk), width - 1), tokenizer.pad_id, dtype=torch.long)
        y = torch.full((len(chunk), width - 1), -100, dtype=torch.long)
        for j, r in enumerate(chunk):
            x[j, :len(r) - 1], y[j, :len(r) - 1] = torch.tensor(r[:-1]), torch.tensor(r[1:])
        logits = model(x.to(device)).float()
        total += F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten(), ignore_index=-100,
                                 reduction="sum").item()
        count += int((y != -100).sum())
    return math.exp(total / count)


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% for z = 1.96) for a share of ``hits`` out of ``n``: unlike p ± z·SE it
    stays within [0, 1] and is not zero-width at 0% or 100%."""
    if n < 1 or not 0 <= hits <= n:
        raise ValueError(f"need 0 <= hits <= n and n >= 1, got hits={hits}, n={n}")
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
