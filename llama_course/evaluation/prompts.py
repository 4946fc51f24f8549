"""Few-shot prompts: k solved examples in a fixed format, then the question, as GPT-3 and LLaMA are evaluated.

The model's weights do not change; everything it "learns" about the task is in its context (Brown et al.
2020 call it in-context learning). Examples are separated by a blank line, the way the harness does it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..files import CourseError


@dataclass(frozen=True)
class Template:
    """How one example is written: ``input_prefix`` + input, a newline, ``target_prefix`` + target."""

    input_prefix: str = "Question: "
    target_prefix: str = "Answer:"

    def render(self, text: str, target: str | None = None) -> str:
        """One solved example, or (``target`` None) the open question the model completes."""
        head = f"{self.input_prefix}{text}\n{self.target_prefix}"
        return head if target is None else f"{head} {target}"


def few_shot_prompt(shots: Sequence[tuple[str, str]], query: str, template: Template = Template(),
                    instruction: str = "", separator: str = "\n\n") -> str:
    """``instruction``, the solved ``shots`` (input, target) and the ``query``, left open after the target
    prefix: the model's continuation (after a space) is its answer. With no shots it is a zero-shot prompt."""
    parts = [instruction] if instruction else []
    parts += [template.render(text, target) for text, target in shots]
    parts.append(template.render(query))
    return separator.join(parts)


def draw_shots(pool: Sequence[tuple[str, str]], k: int, seed: int, exclude: str | None = None) -> list[tuple[str, str]]:
    """``k`` examples drawn from ``pool`` with ``random.Random(seed)``, never the query itself (``exclude``):
    the harness draws a task's shots from its training split for the same reason."""
    candidates = [p for p in pool if p[0] != exclude]
    if k < 0 or k > len(candidates):
        raise CourseError(f"cannot draw {k} shots from a pool of {len(candidates)} examples")
    return random.Random(seed).sample(candidates, k)


def fits(tokenizer, prompt: str, max_tokens: int) -> bool:
    """Whether ``<s>`` + ``prompt`` fits in ``max_tokens`` tokens (a few-shot prompt grows with k)."""
    return len(tokenizer.encode(prompt, bos=True)) <= max_tokens
