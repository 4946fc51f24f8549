"""Preference pairs from the stories: a prompt, a reply a reader prefers and one they do not, where the preference
can be checked by a program rather than a person.

Two kinds, each a question about a story (the story, then the question, as instruction tuning asks it):

- ``correct``: the true answer against a plausible wrong one, the answer another story gives to the same
  question (with the character's name taken out, so "How did Mia feel?" and "How did Tom feel?" are one question);
- ``concise``: the answer that stops, against the same answer rambling on with a sentence of the story.

Text only: the training side tokenizes it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .corpus import Story

PREFERENCE_KINDS = ("correct", "concise")


@dataclass(frozen=True)
class PreferencePair:
    """A prompt, the preferred reply (``chosen``) and the other (``rejected``); ``kind`` says why it is preferred."""

    prompt: str
    chosen: str
    rejected: str
    kind: str

    def __post_init__(self) -> None:
        if self.chosen == self.rejected:
            raise ValueError(f"a preference pair needs two different replies, got {self.chosen!r} twice")
        if self.kind not in PREFERENCE_KINDS:
            raise ValueError(f"kind must be one of {PREFERENCE_KINDS}, got {self.kind!r}")


def _template(story: Story, question: str) -> str:
    return question.replace(story.main_character, "{name}")


def preference_pairs(stories: Sequence[Story], kinds: Sequence[str] = PREFERENCE_KINDS,
                     per_story: int = 2, seed: int = 0) -> list[PreferencePair]:
    """Up to ``per_story`` pairs of each kind from each story's English questions, chosen by ``seed``. A wrong
    answer comes from the same ``stories`` (another story, same question), so held-out pairs use held-out
    stories only."""
    unknown = [k for k in kinds if k not in PREFERENCE_KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds must be some of {PREFERENCE_KINDS}, got {list(kinds)!r}")
    if not isinstance(per_story, int) or per_story < 1:
        raise ValueError(f"per_story must be a positive int, got {per_story!r}")
    answers: dict[str, set[str]] = {}
    for story in stories:
        for question, reply in story.qa:
            answers.setdefault(_template(story, question), set()).add(reply)
    options = {template: sorted(replies) for template, replies in answers.items()}
    rng = random.Random(seed)
    pairs = []
    for story in stories:
        qa = rng.sample(story.qa, min(per_story, len(story.qa)))
        for question, reply in qa:
            prompt = f"{story.text}\n{question}"
            if "correct" in kinds:
                wrong = [a for a in options[_template(story, question)] if a != reply]
                if wrong:
                    pairs.append(PreferencePair(prompt, reply, rng.choice(wrong), "correct"))
            if "concise" in kinds:
                line = rng.choice(story.lines)[0]
                pairs.append(PreferencePair(prompt, reply, f"{reply}. {line}", "concise"))
    return pairs
