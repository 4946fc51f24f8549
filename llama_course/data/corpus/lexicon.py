"""The corpus's bilingual lexicons: data files in ``lexicon/`` beside this module, read into tables.

One entry per line, fields separated by "|": English | Chinese | more fields (what each field means is said
where the table is read). The story shapes read their own tables from the same folder.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

LEXICON = Path(__file__).resolve().parent / "lexicon"


def text(name: str) -> str:
    """The text of the lexicon file ``lexicon/<name>.txt``."""
    return (LEXICON / f"{name}.txt").read_text(encoding="utf-8")


def table(name: str) -> list[list[str]]:
    """The rows of ``lexicon/<name>.txt``, each a list of its "|"-separated fields."""
    return [[field.strip() for field in line.split("|")] for line in text(name).strip().splitlines()]


NAMES = table("names")
ADULTS = table("adults")
TRAITS = table("traits")
AGES = table("ages")
HOMES = table("homes")
HOBBIES = table("hobbies")
PETS = table("pets")
PET_NAMES = table("pet_names")


class Animal(NamedTuple):
    """An animal, its Chinese name and measure word (一只猫, 一头牛), and something it might be seen doing."""

    en: str
    zh: str
    mw: str
    doing_en: str
    doing_zh: str


ANIMALS = {row[0]: Animal(*row) for row in table("animals")}

# English | Chinese | the animals it suits ("*": any). An adjective is never put before an animal whose Chinese name
# starts with one of its characters (no 一只老老虎, 一只小小鹿), nor 大/小 before 小马, 小羊, 小鹿 or 大象.
ANIMAL_ADJECTIVES = table("animal_adjectives")
ANIMAL_ADJECTIVES_FOR = {
    name: [(en, zh) for en, zh, suits in ANIMAL_ADJECTIVES
           if (suits == "*" or name in suits.split()) and animal.zh[0] not in zh
           and not (animal.zh[0] in "大小" and zh[0] in "大小")]
    for name, animal in ANIMALS.items()
}


# Things a child can own, lose, give or fight over. The last field names the adjectives that suit it.
OBJECTS = table("objects")

# kind of adjective | English | Chinese; each kind's rows together.
OBJECT_ADJECTIVES: dict[str, list[list[str]]] = {
    kind: [row[1:] for row in rows] for kind, rows in groupby(table("object_adjectives"), key=itemgetter(0))
}
COLORS = {en for en, _ in OBJECT_ADJECTIVES["color"]}


def zh_color(en: str, zh: str, noun: str) -> str:
    """A colour before a Chinese noun: 红球, but 红色的风筝 and 紫色的球 (the 色 form and 的 unless both are one
    character); any other adjective as it is."""
    if en not in COLORS or len(zh) == 1 and len(noun) == 1:
        return zh
    return zh.removesuffix("色") + "色的"


FOODS = table("foods")
CAKES = table("cakes")

# English | Chinese | whether it suits an outdoor place ("out") or only an indoor one ("in")
WEATHER = table("weather")

# weather | a sentence about such a day | 中文 | "day" if it only suits daytime (not an evening), else "any"
WEATHER_LINES = table("weather_lines")

# weather | what to wear | 中文 (with its verb: 穿, 戴 or 围)
CLOTHES = table("clothes")

# breakfast | what the child did with it, in Chinese: 吃 for food, 喝 for drinks
BREAKFASTS = table("breakfasts")
HABITS = table("habits")
DAY_PARTS = table("day_parts")
WEEKDAYS = table("weekdays")

FEELINGS = {
    True: table("feelings_happy"),
    False: table("feelings_sad"),
}

SPOTS = {
    True: table("spots_outdoor"),
    False: table("spots_indoor"),
}


class Place(NamedTuple):
    """Somewhere a story happens: its name, how to say "at" it in both languages, and what happens there."""

    en: str
    at_en: str
    zh: str
    at_zh: str
    outdoor: bool
    animals: tuple[str, ...]
    activities: tuple[tuple[str, str], ...]


def _places(blocks: str) -> dict[str, Place]:
    """Parse place blocks: a header ``name|at|中文|在…|out or in|animals`` and indented ``did|做了`` lines."""
    places: dict[str, Place] = {}
    header: list[str] = []
    activities: list[tuple[str, str]] = []
    for line in blocks.strip().splitlines() + [""]:
        if line.startswith(" "):
            en, zh = (field.strip() for field in line.split("|"))
            activities.append((en, zh))
            continue
        if header:
            en, at, zh, at_zh, where, animals = header
            places[en] = Place(en, f"{at} the {en}", zh, f"在{at_zh}", where == "out", tuple(animals.split()),
                               tuple(activities))
        header, activities = [field.strip() for field in line.split("|")], []
    return places


PLACES = _places(text("places"))

# place | what it looked like | 中文
PLACE_VIEWS = table("place_views")


# place | a sentence with a number {n} in it | 中文 | the numbers that suit it, lowest-highest
PLACE_NUMBERS = table("place_numbers")


def a_an(phrase: str) -> str:
    """English indefinite article: "an apple", "a unicorn", "an honest girl"."""
    word = phrase.lower()
    vowel_sound = word[0] in "aeiou" and not word.startswith(("uni", "use", "one", "uku", "eu"))
    return f"{'an' if vowel_sound or word.startswith(('honest', 'hour')) else 'a'} {phrase}"


