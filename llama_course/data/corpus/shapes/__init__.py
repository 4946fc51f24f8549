"""Story shapes: each module's ``write(w, happy)`` writes a story's body and ending and asks its own questions."""

from __future__ import annotations

from collections.abc import Callable

from ..writer import Writer
from . import brave, contest, friend, helping, lost, party, problem, quarrel, skill, trip

WRITERS: dict[str, Callable[[Writer, bool], None]] = {
    "friend": friend.write, "lost": lost.write, "trip": trip.write, "problem": problem.write,
    "quarrel": quarrel.write, "party": party.write, "helping": helping.write, "brave": brave.write,
    "contest": contest.write, "skill": skill.write,
}
SHAPES = tuple(WRITERS)
