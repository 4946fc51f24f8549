"""Fine-tuning for classification: a head on the hidden state of the last real token, as transformers'
``LlamaForSequenceClassification``, trained with the one training loop (all weights, or LoRA adapters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.batches import pad
from ..data.corpus import SHAPES, Story
from ..model import Llama, module_device
from .loop import History, example_loss, train
from .recipe import TrainConfig

LABELS = {"happy_ending": ("sad", "happy"), "shape": SHAPES}


def last_token_index(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Index of the last token that is not padding in each row (the rightmost one, whatever the padding side)."""
    positions = torch.arange(tokens.size(1), device=tokens.device)
    return (positions * (tokens != pad_id)).argmax(-1)


class LlamaClassifier(nn.Module):
    """A pretrained ``Llama`` read by a linear ``score`` head (no bias) at the last non-pad position.

    The causal mask means that position has seen the whole text, so its hidden state can summarise it.
    """

    def __init__(self, backbone: Llama, labels: Sequence[str], pad_id: int) -> None:
        super().__init__()
        labels = tuple(labels)
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError(f"labels must be at least two distinct names, got {labels}")
        self.backbone, self.labels, self.pad_id = backbone, labels, pad_id
        if not backbone.config.tie_embeddings:
            backbone.output.requires_grad_(False)  # the language-model head is not used: nothing to train there
        weight = backbone.tok_embeddings.weight
        self.score = nn.Linear(backbone.config.dim, len(labels), bias=False, device=weight.device, dtype=weight.dtype)
        nn.init.normal_(self.score.weight, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Class logits (batch, n_labels)."""
        hidden = self.backbone.hidden_states(tokens)
        last = last_token_index(tokens, self.pad_id)
        return self.score(hidden[torch.arange(tokens.size(0), device=tokens.device), last])

    def label_ids(self, names: Sequence[str]) -> torch.Tensor:
        """The head's index of each label name; a name the head does not have is a clear error."""
        unknown = sorted({n for n in names if n not in self.labels}, key=str)
        if unknown:
            raise ValueError(f"labels {unknown} are not among this head's labels {list(self.labels)}")
        return torch.tensor([self.labels.index(n) for n in names], dtype=torch.long)


def story_labels(stories: Sequence[Story], label: str = "happy_ending") -> list[str]:
    """The name of each story's label: ``"happy"``/``"sad"`` for ``happy_ending``, or the story's ``shape``."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {list(LABELS)}, got {label!r}")
    if label == "happy_ending":
        return [LABELS[label][int(s.happy_ending)] for s in stories]
    return [getattr(s, label) for s in stories]


def encode_texts(tokenizer, texts: Sequence[str], max_len: int) -> torch.Tensor:
    """``<s> text`` for each text, right-padded with the pad id into one (n, longest) tensor. A text longer
    than ``max_len`` keeps ``<s>`` and its *last* tokens: for a story, the ending is what decides its label."""
    if isinstance(texts, str) or not texts:
        raise ValueError("encode_texts needs a non-empty list of texts")
    rows = [[tokenizer.bos_id] + ids[max(0, len(ids) - (max_len - 1)):] for ids in tokenizer.encode_batch(texts)]
    return pad(rows, tokenizer.pad_id)


@dataclass
class Scores:
    """Accuracy and the confusion matrix (rows: true label, columns: predicted) of a classifier."""

    labels: tuple[str, ...]
    confusion: torch.Tensor

    @property
    def accuracy(self) -> float:
        return float(self.confusion.diag().sum() / self.confusion.sum())

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes: 1/n_labels for always guessing one class, whatever the class sizes."""
        per_class = self.confusion.diag() / self.confusion.sum(1).clamp(min=1)
        return float(per_class[self.confusion.sum(1) > 0].mean())


@torch.no_grad()
def predict(classifier: LlamaClassifier, tokens: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    """The predicted label index of every row of ``tokens``."""
    classifier.eval()
    device = module_device(classifier)
    out = [classifier(_trim(tokens[i:i + batch_size], classifier.pad_id).to(device)).argmax(-1).cpu()
           for i in range(0, len(tokens), batch_size)]
    return torch.cat(out)


def evaluate_classifier(classifier: LlamaClassifier, tokens: torch.Tensor, labels: torch.Tensor) -> Scores:
    """Predict every row and tally the confusion matrix against ``labels`` (label indices)."""
    predicted = predict(classifier, tokens)
    n = len(classifier.labels)
    confusion = torch.bincount(labels * n + predicted, minlength=n * n).view(n, n)
    return Scores(classifier.labels, confusion)


def train_classifier(classifier: LlamaClassifier, tokens: torch.Tensor, labels: torch.Tensor,
                     config: TrainConfig, progress: bool = True) -> History:
    """Fine-tune ``classifier`` (all its trainable parameters) with cross-entropy on the labels."""
    if len(tokens) != len(labels):
        raise ValueError(f"{len(tokens)} texts but {len(labels)} labels")
    if int(labels.min()) < 0 or int(labels.max()) >= len(classifier.labels):
        raise ValueError(f"label indices must be in [0, {len(classifier.labels)}) for this head")
    device = module_device(classifier)

    def loss_of(net: nn.Module, rows: list[int]) -> tuple[torch.Tensor, int]:
        x = _trim(tokens[rows], classifier.pad_id).to(device)
        return F.cross_entropy(net(x).float(), labels[rows].to(device)), int((x != classifier.pad_id).sum())

    return train(classifier, example_loss(len(tokens), config, loss_of), None, config, progress=progress,
                 desc="fine-tuning")


def _trim(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Drop the columns that are padding in every row: a batch costs its longest text, not the longest overall."""
    used = int((tokens != pad_id).any(0).nonzero().max()) + 1
    return tokens[:, :used]
