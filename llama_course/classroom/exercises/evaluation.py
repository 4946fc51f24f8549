"""Checks for notebook 09 (evaluation)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ...config import LlamaConfig
from ...model import Llama
from .base import ExerciseError, call


@torch.no_grad()
def choice_logprob_reference(model: Llama, context_ids: Sequence[int], continuation_ids: Sequence[int]) -> float:
    """log p(continuation | context): the model reads context + continuation but the last id, and the
    continuation's ids are scored at the positions just before them."""
    ids = torch.tensor([list(context_ids) + list(continuation_ids)])
    logprobs = F.log_softmax(model(ids[:, :-1]).float(), dim=-1)[0]
    start = len(context_ids) - 1
    return float(sum(logprobs[start + i, t] for i, t in enumerate(continuation_ids)))


def check_choice_logprob(fn: Callable[[Llama, list[int], list[int]], float]) -> None:
    torch.manual_seed(0)
    model = Llama(LlamaConfig(vocab_size=64, dim=32, n_layers=1, n_heads=2, max_seq_len=32)).eval()
    rng = random.Random(0)
    for n_context, n_continuation in ((1, 1), (5, 1), (4, 3), (10, 6)):
        context = [rng.randrange(64) for _ in range(n_context)]
        continuation = [rng.randrange(64) for _ in range(n_continuation)]
        got = call("choice_logprob", fn, model, context, continuation)
        expected = choice_logprob_reference(model, context, continuation)
        if not isinstance(got, (float, int, torch.Tensor)) or abs(float(got) - expected) > 1e-4:
            raise ExerciseError(f"choice_logprob with {n_context} context and {n_continuation} continuation ids "
                                f"returned {got!r}; expected {expected:.4f}")
    print("✓ choice_logprob matches the reference on 4 random contexts and continuations")


def chrf_reference(hypothesis: str, reference: str, max_order: int = 6, beta: float = 2.0) -> float:
    """Sentence chrF as sacrebleu computes it by default: spaces removed, character n-gram precision and recall
    averaged over the orders both strings have n-grams of, then their F-beta, times 100."""
    from collections import Counter

    hyp, ref = hypothesis.replace(" ", ""), reference.replace(" ", "")
    precisions, recalls = [], []
    for n in range(1, max_order + 1):
        h = Counter(hyp[i:i + n] for i in range(len(hyp) - n + 1))
        r = Counter(ref[i:i + n] for i in range(len(ref) - n + 1))
        if h and r:
            matches = sum((h & r).values())
            precisions.append(matches / sum(h.values()))
            recalls.append(matches / sum(r.values()))
    if not precisions:
        return 0.0
    precision, recall = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


CHRF_PAIRS = (("the cat sat", "the cat sat on the mat"), ("kitten", "sitting"), ("最后，莫莉心里很开心。",
              "最后，莫莉心里很难过。"), ("Molly felt happy.", "In the end, Molly felt happy."), ("ab", "xyz"))


def check_chrf(fn: Callable[[str, str], float]) -> None:
    import sacrebleu

    for hypothesis, reference in CHRF_PAIRS:
        got = call("chrf", fn, hypothesis, reference)
        expected = sacrebleu.sentence_chrf(hypothesis, [reference]).score
        if not isinstance(got, (float, int)) or abs(got - expected) > 1e-6:
            raise ExerciseError(f"chrf({hypothesis!r}, {reference!r}) returned {got!r}; sacrebleu says {expected:.4f}")
    print(f"✓ chrf equals sacrebleu's sentence chrF on {len(CHRF_PAIRS)} pairs")
