"""What several story shapes share: places to play, the 'where' question, going with an adult."""

from __future__ import annotations

from ..writer import Variant, Writer

PLAY_PLACES = ("park", "beach", "playground", "garden", "meadow", "field", "school", "village", "pond", "lake")
WHERE: tuple[Variant, Variant] = (("Where did {name} go?", "the {place}"), ("{name}去了哪里？", "{place}"))


def went_with_adult(w: Writer) -> None:
    w.say(("{name} went to the {place} with {his} {adult}.", "{name}和{adult}一起去了{place}。"),
          ("{His} {adult} took {him} to the {place}.", "{adult}带{him}去了{place}。"))
