"""Tasks made from the stories for prompting and fine-tuning: a one-sentence summary of each story, written
from the generator's own labels, and short input/target pairs for few-shot prompts."""

from __future__ import annotations

from collections.abc import Sequence

from ..data.corpus import Story
from ..training.instruct import Example

# What happens in each story shape (llama_course/corpus/shapes), said so that it is true of every story of it.
SHAPE_PHRASES = {
    "brave": "tries to be brave about a fear",
    "contest": "takes part in a contest",
    "friend": "meets someone new",
    "helping": "helps someone who needs it",
    "lost": "loses something and looks for it",
    "party": "goes to a birthday party",
    "problem": "has a problem to solve",
    "quarrel": "has a quarrel with a friend",
    "skill": "learns a new skill",
    "trip": "goes on a trip",
}
SUMMARY_INSTRUCTION = "Summarize the story in one sentence."


def story_summary(story: Story) -> str:
    """The reference summary: who, what kind of story, and how it ends (``"Molly has a problem to solve, and
    the story ends happily."``)."""
    if story.shape not in SHAPE_PHRASES:
        raise ValueError(f"no summary phrase for the story shape {story.shape!r}")
    ending = "happily" if story.happy_ending else "sadly"
    return f"{story.main_character} {SHAPE_PHRASES[story.shape]}, and the story ends {ending}."


def summary_examples(stories: Sequence[Story], tokenizer, max_len: int) -> list[Example]:
    """Instruction examples (kind ``summary``): the story and :data:`SUMMARY_INSTRUCTION`, answered by its
    summary; those longer than ``max_len`` tokens in the chat format are left out."""
    examples = [Example(f"{s.text}\n{SUMMARY_INSTRUCTION}", story_summary(s), "summary") for s in stories]
    lengths = tokenizer.encode_batch([e.instruction + e.answer for e in examples])
    return [e for e, ids in zip(examples, lengths, strict=True) if len(ids) + 4 <= max_len]


def name_pairs(stories: Sequence[Story]) -> list[tuple[str, str]]:
    """(first sentence, main character) for each story: a task whose answer is in the input, for in-context
    learning: ``("There was once a cheerful girl called Molly.", "Molly")``."""
    return [(s.lines[0][0], s.main_character) for s in stories if s.main_character in s.lines[0][0]]


def translation_pairs(stories: Sequence[Story], per_story: int = 1) -> list[tuple[str, str]]:
    """(English line, Chinese line) pairs: the first ``per_story`` lines after each story's opening sentence."""
    return [pair for s in stories for pair in s.lines[1:1 + per_story]]
