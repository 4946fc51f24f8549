"""The course's built-in benchmark, made from held-out stories, and its runner.

Two multiple-choice tasks in the styles of well-known benchmarks, scored by log-likelihood:

- ``qa``: reading comprehension. The story, a question, and four answers: the right one and three that
  other stories give to the same question (names, weathers, objects...).
- ``ending``: HellaSwag-style. A story without its last two sentences, and four endings: its own and those
  of three other stories, with the name changed to this story's, so that a name alone gives nothing away.

plus generative exact match on ``qa`` (the model writes the answer) and perplexity on the stories.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..data.corpus import Story
from ..files import CourseError
from ..model import Llama
from .metrics import qa_exact_match
from .scoring import NORMALISATIONS, Continuation, choose, greedy_answers, loglikelihoods, perplexity, wilson_interval

N_CHOICES = 4
KINDS = ("qa", "ending")


@dataclass(frozen=True)
class MultipleChoice:
    """One question: a context, the choices (each a continuation of it) and the index of the right one."""

    context: str
    choices: tuple[str, ...]
    answer: int
    kind: str


def qa_prompt(story: Story, question: str) -> str:
    """The zero-shot reading-comprehension prompt; the answer follows after a space."""
    return f"{story.text}\nQuestion: {question}\nAnswer:"


def _question_key(story: Story, question: str) -> str:
    return question.replace(story.main_character, "{name}")


def story_benchmark(stories: Sequence[Story], per_kind: int = 100, seed: int = 0) -> list[MultipleChoice]:
    """``per_kind`` questions of each kind from ``stories`` (use stories the model was not trained on), the
    distractors drawn from the same stories with ``random.Random(seed)``."""
    if len(stories) < N_CHOICES:
        raise CourseError(f"the benchmark needs at least {N_CHOICES} stories, got {len(stories)}")
    rng = random.Random(seed)
    answers: dict[str, set[str]] = {}
    for story in stories:
        for question, answer in story.qa:
            answers.setdefault(_question_key(story, question), set()).add(answer)
    qa, endings = [], []
    for story in stories:
        options = [(q, a) for q, a in story.qa if len(answers[_question_key(story, q)] - {a}) >= N_CHOICES - 1]
        if options:
            question, answer = rng.choice(options)
            others = rng.sample(sorted(answers[_question_key(story, question)] - {answer}), N_CHOICES - 1)
            qa.append(_shuffled(rng, qa_prompt(story, question), [" " + answer, *(" " + o for o in others)], "qa"))
        rivals = rng.sample([s for s in stories if s.id != story.id], N_CHOICES - 1)
        ending = [" " + " ".join(en for en, _ in s.lines[-2:]).replace(s.main_character, story.main_character)
                  for s in (story, *rivals)]
        if len(set(ending)) == N_CHOICES:
            endings.append(_shuffled(rng, " ".join(en for en, _ in story.lines[:-2]), ending, "ending"))
    return qa[:per_kind] + endings[:per_kind]


def _shuffled(rng: random.Random, context: str, choices: list[str], kind: str) -> MultipleChoice:
    """The choices in random order (the right one is first in ``choices``)."""
    order = list(range(len(choices)))
    rng.shuffle(order)
    return MultipleChoice(context, tuple(choices[i] for i in order), order.index(0), kind)


@dataclass
class BenchmarkResult:
    """Every choice's log-likelihood, the generative answers, and the perplexity: what the table is made of."""

    items: list[MultipleChoice]
    scores: list[list[Continuation]]
    generated: list[str] = field(default_factory=list)  # the greedy answer to each qa item
    perplexity: float = float("nan")

    def correct(self, kind: str, normalise: str = "sum") -> list[bool]:
        """Whether each question of ``kind`` was answered right when choices are ranked by ``normalise``."""
        return [choose(s, normalise) == item.answer for item, s in zip(self.items, self.scores, strict=True)
                if item.kind == kind]

    def accuracy(self, kind: str, normalise: str = "sum") -> float:
        hits = self.correct(kind, normalise)
        return sum(hits) / len(hits)

    def rows(self) -> list[tuple[str, str, int, float, tuple[float, float]]]:
        """(task, metric, n, share right, its 95% Wilson interval) for every multiple-choice ranking and for the
        generated answers."""
        out = []
        for kind in KINDS:
            for normalise in NORMALISATIONS:
                hits = self.correct(kind, normalise)
                if hits:
                    out.append((kind, f"acc ({normalise})", len(hits), sum(hits) / len(hits),
                                wilson_interval(sum(hits), len(hits))))
        qa = [i for i in self.items if i.kind == "qa"]
        if self.generated:
            exact = sum(qa_exact_match(said, i.choices[i.answer]) for said, i in zip(self.generated, qa, strict=True))
            out.append(("qa", "exact match (generated)", len(qa), exact / len(qa),
                        wilson_interval(int(exact), len(qa))))
        return out

    def table(self) -> str:
        """The scores as an aligned text table, with chance level for the multiple-choice rows."""
        lines = [f"{'task':8s} {'metric':25s} {'n':>4s} {'score':>7s}  {'95% interval':15s} chance"]
        for kind, metric, n, value, (low, high) in self.rows():
            chance = f"{1 / N_CHOICES:.0%}" if metric.startswith("acc") else "-"
            lines.append(f"{kind:8s} {metric:25s} {n:4d} {value:7.1%}  {low:5.1%} - {high:5.1%}   {chance}")
        if self.perplexity == self.perplexity:  # not nan
            lines.append(f"{'stories':8s} {'perplexity':25s} {'':4s} {self.perplexity:7.2f}")
        return "\n".join(lines)


def run_benchmark(model: Llama, tokenizer, items: Sequence[MultipleChoice], texts: Sequence[str] = (),
                  generate: bool = True, progress: bool = True) -> BenchmarkResult:
    """Score every choice of every item (one batch of continuations, with a progress bar), write the greedy
    answers to the ``qa`` items when ``generate``, and take the perplexity of ``texts`` when given."""
    if not items:
        raise CourseError("no benchmark items to score")
    pairs = [(item.context, choice) for item in items for choice in item.choices]
    flat = loglikelihoods(model, tokenizer, pairs, progress=progress)
    starts = [0]
    for item in items:
        starts.append(starts[-1] + len(item.choices))
    result = BenchmarkResult(list(items), [flat[a:b] for a, b in zip(starts, starts[1:], strict=False)])
    if generate:
        result.generated = greedy_answers(model, tokenizer, [i.context for i in items if i.kind == "qa"])
    if texts:
        result.perplexity = perplexity(model, tokenizer, texts)
    return result


def evaluate_checkpoint(path: str | None = None, per_kind: int = 100, device: str | torch.device = "cpu",
                        progress: bool = True) -> BenchmarkResult:
    """Score a checkpoint folder (the course model when ``path`` is None) on the built-in benchmark: questions
    from the held-out stories of the course corpus (the split the course model never trained on), and their
    perplexity."""
    from ..data.corpus import load_corpus
    from ..training.checkpoint import course_model, load_checkpoint

    saved = course_model(device) if path is None else load_checkpoint(path, device)
    if saved.tokenizer is None:
        raise CourseError(f"{saved.path} has no tokenizer saved with it, so the benchmark's text cannot be encoded")
    stories = load_corpus().val
    return run_benchmark(saved.model, saved.tokenizer, story_benchmark(stories, per_kind), [s.text for s in stories],
                         progress=progress)
