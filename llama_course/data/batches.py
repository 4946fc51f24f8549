"""Token datasets for next-token prediction: documents become one stream of ids, cut into windows.

Each document is wrapped as ``<s> text </s>`` and the documents are concatenated, as in LLaMA's
pretraining. A training batch is ``batch_size`` windows at random offsets; the target of every
position is the next token, so ``targets = stream[start + 1 : start + 1 + context]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

import numpy as np
import torch

from ..config import is_whole


class TextTokenizer(Protocol):
    """What the datasets need from a tokenizer (both of the course's tokenizers qualify)."""

    def encode_batch(self, texts: Iterable[str], bos: bool = False, eos: bool = False) -> list[list[int]]: ...
    def __len__(self) -> int: ...


def tokenize_documents(texts: Iterable[str], tokenizer: TextTokenizer) -> np.ndarray:
    """``<s> doc </s>`` for every document, concatenated into one array of ids.

    Stored as uint16 when the vocabulary fits (2 bytes a token instead of torch.long's 8).
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    dtype = np.uint16 if len(tokenizer) <= 2**16 else np.uint32
    ids = [np.asarray(doc, dtype=dtype) for doc in tokenizer.encode_batch(texts, bos=True, eos=True)]
    return np.concatenate(ids) if ids else np.zeros(0, dtype=dtype)


class TokenDataset:
    """A stream of token ids and the ``context`` length of the windows cut from it."""

    def __init__(self, tokens: np.ndarray | Sequence[int] | torch.Tensor, context: int) -> None:
        if isinstance(tokens, torch.Tensor):
            tokens = tokens.cpu().numpy()
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
            raise TypeError(f"tokens must be a 1-D sequence of integer ids, got shape {tokens.shape} {tokens.dtype}")
        if not is_whole(context) or context < 1:
            raise ValueError(f"context must be a positive int, got {context!r}")
        if len(tokens) < context + 1:
            raise ValueError(
                f"{len(tokens)} tokens are too few for windows of {context} (need at least {context + 1}): "
                "use more text or a shorter context"
            )
        self.tokens, self.context = tokens, context

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return f"TokenDataset({len(self):,} tokens, context {self.context}, {self.nbytes / 1e6:.2f} MB)"

    @property
    def nbytes(self) -> int:
        return self.tokens.nbytes

    @property
    def n_windows(self) -> int:
        """How many non-overlapping windows (with their next-token targets) the stream holds."""
        return (len(self) - 1) // self.context

    def windows(self, starts: Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets (each ``(len(starts), context)``, torch.long) of the windows at ``starts``."""
        index = np.asarray(starts)[:, None] + np.arange(self.context + 1)
        chunk = torch.from_numpy(self.tokens[index].astype(np.int64))
        return chunk[:, :-1], chunk[:, 1:]

    def sample(self, batch_size: int, seed: int | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch_size`` windows at random offsets, chosen by ``seed`` alone.

        Seeding every batch on its own (the trainer uses ``[seed, step, micro-batch]``) means a resumed
        run draws exactly the batches it would have drawn without stopping, with no generator state to save.
        """
        starts = np.random.default_rng(seed).integers(0, len(self) - self.context, size=batch_size)
        return self.windows(starts)

    def batches(self, batch_size: int, max_windows: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The fixed, non-overlapping windows of the stream, in order (for validation). With ``max_windows``,
        that many spread evenly over the whole stream, so a subset still samples all of it."""
        n = self.n_windows if max_windows is None else min(max_windows, self.n_windows)
        starts = np.linspace(0, self.n_windows - 1, n).round().astype(np.int64) * self.context
        for i in range(0, n, batch_size):
            yield self.windows(starts[i : i + batch_size])


def split_datasets(
    train_texts: Iterable[str], val_texts: Iterable[str], tokenizer: TextTokenizer, context: int
) -> tuple[TokenDataset, TokenDataset]:
    """Training and validation datasets from two lists of documents."""
    return (
        TokenDataset(tokenize_documents(train_texts, tokenizer), context),
        TokenDataset(tokenize_documents(val_texts, tokenizer), context),
    )


def story_datasets(
    corpus, tokenizer: TextTokenizer, context: int, language: str = "en"
) -> tuple[TokenDataset, TokenDataset]:
    """Datasets from the course corpus: each story is a document. With "both", all English stories come
    first and then all Chinese ones: were a story's two versions neighbours, a window could hold the
    English one while predicting its translation, and the loss would flatter the model."""
    languages = {"en": ("text",), "zh": ("text_zh",), "both": ("text", "text_zh")}
    if language not in languages:
        raise ValueError(f"language must be 'en', 'zh' or 'both', got {language!r}")
    fields = languages[language]

    def documents(stories) -> list[str]:
        return [getattr(story, field) for field in fields for story in stories]

    return split_datasets(documents(corpus.train), documents(corpus.val), tokenizer, context)


def text_datasets(
    text: str, tokenizer: TextTokenizer, context: int, val_fraction: float = 0.1
) -> tuple[TokenDataset, TokenDataset]:
    """Datasets from one long text (a book, your notes): the last ``val_fraction`` of its tokens is held out."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    tokens = tokenize_documents([text], tokenizer)
    n_val = int(len(tokens) * val_fraction)
    if min(n_val, len(tokens) - n_val) < context + 1:
        raise ValueError(
            f"the text is {len(tokens):,} tokens; with {val_fraction:.0%} held out for validation both parts need "
            f"more than {context} tokens: give more text or a shorter context"
        )
    return TokenDataset(tokens[:-n_val], context), TokenDataset(tokens[-n_val:], context)


def pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """Lists of ids right-padded with ``value`` into one long tensor."""
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)
