"""The course's built-in corpus: short children's stories in simple English, each with a parallel Chinese version.

Stories are generated offline and deterministically from lexicons (every word with its Chinese translation,
and a measure word for every noun) and sentence templates written in both languages, so the Chinese text
follows the same choices as the English one; nothing is machine-translated. Each story carries labels and
question/answer pairs that the fine-tuning lessons use.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, TypeVar

from .files import atomic_write

GENERATOR_VERSION = 3  # bump whenever the generator's output changes: it names the cache file
# (v3 added Story.lines; the texts are those of v2)
DEFAULT_STORIES = 4000  # about 3 MB of English and 3 MB of Chinese (UTF-8)
HAPPY_RATE = 0.7
DIGIT_RATE = 0.3  # the share of stories that may write numbers in digits ("8 years old", "8岁")
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------------------------
# Lexicons: data files in lexicon/ beside this module, one entry per line, fields separated by "|":
# English | Chinese | more fields (what each field means is said where the table is read).
LEXICON = Path(__file__).resolve().parent / "lexicon"


def _lexicon(name: str) -> str:
    """The text of the lexicon file ``lexicon/<name>.txt``."""
    return (LEXICON / f"{name}.txt").read_text(encoding="utf-8")


def _rows(table: str) -> list[list[str]]:
    return [[field.strip() for field in line.split("|")] for line in table.strip().splitlines()]


NAMES = _rows(_lexicon("names"))

ADULTS = _rows(_lexicon("adults"))

TRAITS = _rows(_lexicon("traits"))

AGES = _rows(_lexicon("ages"))

HOMES = _rows(_lexicon("homes"))

HOBBIES = _rows(_lexicon("hobbies"))

PETS = _rows(_lexicon("pets"))

PET_NAMES = _rows(_lexicon("pet_names"))

class Animal(NamedTuple):
    """An animal, its Chinese name and measure word (一只猫, 一头牛), and something it might be seen doing."""

    en: str
    zh: str
    mw: str
    doing_en: str
    doing_zh: str


ANIMALS = {row[0]: Animal(*row) for row in _rows(_lexicon("animals"))}

# English | Chinese | the animals it suits ("*": any). An adjective is never put before an animal whose Chinese name
# starts with one of its characters (no 一只老老虎, 一只小小鹿), nor 大/小 before 小马, 小羊, 小鹿 or 大象.
ANIMAL_ADJECTIVES = _rows(_lexicon("animal_adjectives"))
ANIMAL_ADJECTIVES_FOR = {
    name: [(en, zh) for en, zh, suits in ANIMAL_ADJECTIVES
           if (suits == "*" or name in suits.split()) and animal.zh[0] not in zh
           and not (animal.zh[0] in "大小" and zh[0] in "大小")]
    for name, animal in ANIMALS.items()
}


# Things a child can own, lose, give or fight over. The last field names the adjectives that suit it.
OBJECTS = _rows(_lexicon("objects"))

# kind of adjective | English | Chinese; each kind's rows together.
OBJECT_ADJECTIVES: dict[str, list[list[str]]] = {
    kind: [row[1:] for row in rows] for kind, rows in groupby(_rows(_lexicon("object_adjectives")), key=itemgetter(0))
}
COLORS = {en for en, _ in OBJECT_ADJECTIVES["color"]}


def _zh_color(en: str, zh: str, noun: str) -> str:
    """A colour before a Chinese noun: 红球, but 红色的风筝 and 紫色的球 (the 色 form and 的 unless both are one
    character); any other adjective as it is."""
    if en not in COLORS or len(zh) == 1 and len(noun) == 1:
        return zh
    return zh.removesuffix("色") + "色的"

FOODS = _rows(_lexicon("foods"))

CAKES = _rows(_lexicon("cakes"))

# English | Chinese | whether it suits an outdoor place ("out") or only an indoor one ("in")
WEATHER = _rows(_lexicon("weather"))

# weather | a sentence about such a day | 中文 | "day" if it only suits daytime (not an evening), else "any"
WEATHER_LINES = _rows(_lexicon("weather_lines"))

# weather | what to wear | 中文 (with its verb: 穿, 戴 or 围)
CLOTHES = _rows(_lexicon("clothes"))

# breakfast | what the child did with it, in Chinese: 吃 for food, 喝 for drinks
BREAKFASTS = _rows(_lexicon("breakfasts"))

HABITS = _rows(_lexicon("habits"))

DAY_PARTS = _rows(_lexicon("day_parts"))
WEEKDAYS = _rows(_lexicon("weekdays"))

FEELINGS = {
    True: _rows(_lexicon("feelings_happy")),
    False: _rows(_lexicon("feelings_sad")),
}

SPOTS = {
    True: _rows(_lexicon("spots_outdoor")),
    False: _rows(_lexicon("spots_indoor")),
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


def _places(table: str) -> dict[str, Place]:
    """Parse place blocks: a header ``name|at|中文|在…|out or in|animals`` and indented ``did|做了`` lines."""
    places: dict[str, Place] = {}
    header: list[str] = []
    activities: list[tuple[str, str]] = []
    for line in table.strip().splitlines() + [""]:
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


PLACES = _places(_lexicon("places"))

# place | what it looked like | 中文
PLACE_VIEWS = _rows(_lexicon("place_views"))


# place | a sentence with a number {n} in it | 中文 | the numbers that suit it, lowest-highest
PLACE_NUMBERS = _rows(_lexicon("place_numbers"))


def _a(phrase: str) -> str:
    """English indefinite article: "an apple", "a unicorn", "an honest girl"."""
    word = phrase.lower()
    vowel_sound = word[0] in "aeiou" and not word.startswith(("uni", "use", "one", "uku", "eu"))
    return f"{'an' if vowel_sound or word.startswith(('honest', 'hour')) else 'a'} {phrase}"


# ---------------------------------------------------------------------------------------------------------------------
# The writer: template fields and sentences for both languages, filled from the same random choices.

Variant = tuple[str, str]  # (English template, Chinese template); both use the same {fields}
_PRONOUNS = {"m": ("he", "him", "his", "himself", "他"), "f": ("she", "her", "her", "herself", "她")}
# the hours that suit a time of day (written in digits: "at 3 o'clock", "下午3点")
HOURS = {"morning": (7, 11), "afternoon": (1, 5), "evening": (6, 8)}
# feelings whose plain Chinese form needs an object (觉得很感激 what?): how to say "felt ..." without one
FEEL_ZH = {"grateful": "心里充满了感激"}


class _Writer:
    """One story being written: its fields (names, pronouns, places...) and sentences in English and Chinese.

    ``home`` says the main character is back home (no more "smiled all the way home"), ``later`` that the story has
    moved on past the night (no more "That night..."), ``digits`` that this story may write numbers in digits.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.en: dict[str, str] = {}
        self.zh: dict[str, str] = {}
        self.lines_en: list[str] = []
        self.lines_zh: list[str] = []
        self.qa_en: list[tuple[str, str]] = []
        self.qa_zh: list[tuple[str, str]] = []
        self.genders: dict[str, str] = {}
        self.place = PLACES["park"]
        self.lost_item: str | None = None
        self.has_pet = False
        self.home = False
        self.later = False
        self.digits = rng.random() < DIGIT_RATE

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def set(self, key: str, en: str, zh: str) -> None:
        """Set a field; ``en``/``zh`` may refer to fields already set."""
        self.en[key] = en.format_map(self.en)
        self.zh[key] = zh.format_map(self.zh)

    def say(self, *variants: Variant) -> None:
        """Write one sentence (or a few), choosing among ``variants``."""
        en, zh = self.choice(variants)
        self.lines_en.append(en.format_map(self.en))
        self.lines_zh.append(zh.format_map(self.zh))

    def maybe(self, p: float, *variants: Variant) -> bool:
        """Like :meth:`say`, with probability ``p``: the optional sentences that make stories differ."""
        if self.rng.random() < p:
            self.say(*variants)
            return True
        return False

    def number(self, key: str, low: int, high: int) -> None:
        """Set ``{key}`` to a whole number from ``low`` to ``high``, in digits in both languages."""
        self.en[key] = self.zh[key] = str(self.rng.randint(low, high))

    def numeral(self, p: float, low: int, high: int, *variants: Variant) -> None:
        """In a story that writes digits, with probability ``p``: one of ``variants`` with ``{n}`` from low to high."""
        if self.digits and self.rng.random() < p:
            self.number("n", low, high)
            self.say(*variants)

    def went_home(self, later: bool = False) -> None:
        """The story has brought the main character home (and, if ``later``, on past that night)."""
        self.home = True
        self.later = self.later or later

    def ask(self, en: tuple[str, str], zh: tuple[str, str]) -> None:
        """Add a question and its answer, as (question, answer) templates in English and in Chinese."""
        self.qa_en.append((en[0].format_map(self.en), en[1].format_map(self.en)))
        self.qa_zh.append((zh[0].format_map(self.zh), zh[1].format_map(self.zh)))

    def person(self, key: str, prefix: str, en: str, zh: str, gender: str) -> None:
        """A character: ``{key}`` is the name; ``{<prefix>he}``, ``{<prefix>His}``... its pronouns."""
        self.genders[key] = gender
        he, him, his, himself, ta = _PRONOUNS[gender]
        self.set(key, en, zh)
        for field, word_en, word_zh in (("he", he, ta), ("him", him, ta), ("his", his, ta + "的"),
                                        ("himself", himself, ta + "自己")):
            self.set(prefix + field, word_en, word_zh)
            self.set(prefix + field.capitalize(), word_en.capitalize(), word_zh)

    def group(self, *keys: str) -> None:
        """``{they}``, ``{them}``, ``{their}`` for these characters (她们 only when all are girls or women)."""
        ta = "她们" if all(self.genders[key] == "f" for key in keys) else "他们"
        for field, word in (("they", "they"), ("them", "them"), ("their", "their")):
            self.set(field, word, ta if field != "their" else ta + "的")
            self.set(field.capitalize(), word.capitalize(), self.zh[field])

    def cast(self) -> None:
        """Choose the main character, a friend, an adult of the family, a pet, and the day of the week."""
        main = self.choice(NAMES)
        friend = self.choice([row for row in NAMES if row[0] != main[0] and row[1] != main[1]])
        self.person("name", "", *main)
        self.person("friend", "f", *friend)
        self.person("adult", "a", *self.choice(ADULTS))
        self.set("kid", *{"m": ("boy", "男孩"), "f": ("girl", "女孩")}[main[2]])
        self.set("fkid", *{"m": ("boy", "男孩"), "f": ("girl", "女孩")}[friend[2]])
        self.set("his_friend", "{his} friend {friend}", "{his}朋友{friend}")  # how the friend is first named
        trait_en, trait_zh = self.choice(TRAITS)
        self.set("trait", trait_en, trait_zh)
        self.set("a_trait", _a(trait_en), trait_zh)
        age = self.rng.randrange(len(AGES) - 1)
        if self.digits and self.rng.random() < 0.7:  # "8 years old", "8岁"
            self.set("age", str(age + 5), str(age + 5))
            self.set("next_age", str(age + 6), str(age + 6))
        else:
            self.set("age", *AGES[age])
            self.set("next_age", *AGES[age + 1])
        self.set("weekday", *self.choice(WEEKDAYS))
        self.set("food", *self.choice(FOODS))
        pet_en, pet_zh, _ = self.choice(PETS)
        self.set("pet", pet_en, pet_zh)
        self.set("a_pet", _a(pet_en), pet_zh)
        self.set("pet_name", *self.choice(PET_NAMES))
        self.group("name", "friend")

    def introduce(self) -> None:
        """The opening: who the story is about, and maybe their age, hobby, pet or habit."""
        self.set("home", *self.choice(HOMES))
        self.set("hobby", *self.choice(HOBBIES))
        self.set("habit", *self.choice(HABITS))
        self.say(
            ("Once upon a time, there was {a_trait} little {kid} named {name}.",
             "从前，有一个{trait}的小{kid}，名叫{name}。"),
            ("There was once {a_trait} {kid} called {name}.", "从前有一个{trait}的{kid}，叫{name}。"),
            ("{name} was {a_trait} {kid} who lived {home}.", "{name}是一个{trait}的{kid}，{he}住在{home}。"),
            ("Long ago, {a_trait} {kid} named {name} lived {home}.",
             "很久以前，{home}住着一个{trait}的{kid}，名叫{name}。"),
            ("In a town not far from here, there lived {a_trait} {kid} named {name}.",
             "离这儿不远的一个小镇上，住着一个{trait}的{kid}，名叫{name}。"),
            ("This is a story about {a_trait} {kid} named {name}.", "这个故事讲的是一个{trait}的{kid}，名叫{name}。"),
        )
        extras: list[Variant] = [
            ("{He} was {age} years old.", "{he}{age}岁了。"),
            ("{He} loved {hobby} more than anything.", "{he}最喜欢{hobby}了。"),
            ("{He} had {a_pet} named {pet_name}.", "{he}养了一只{pet}，名叫{pet_name}。"),
            ("{He} always {habit}.", "{he}总是{habit}。"),
        ]
        chosen = self.rng.sample(extras, self.rng.randrange(4))
        for extra in chosen:
            self.say(extra)
        self.has_pet = extras[2] in chosen
        self.numeral(0.25, 2, 240, ("{His} house was number {n}.", "{he}家的门牌是{n}号。"))

    def at(self, *names: str) -> None:
        """Choose where the story happens (from ``names``, or anywhere) and set the place fields."""
        self.place = PLACES[self.choice(names)] if names else self.choice(list(PLACES.values()))
        p = self.place
        self.set("place", p.en, p.zh)
        self.set("at_place", p.at_en, p.at_zh)
        self.set("At_place", p.at_en.capitalize(), p.at_zh)
        self.set("in_place", p.at_en, p.at_zh.removeprefix("在"))
        acts = self.rng.sample(p.activities, 2)
        self.set("act", *acts[0])
        self.set("act2", *acts[1])
        if p.animals:
            animal = ANIMALS[self.choice(p.animals)]
            adj_en, adj_zh = self.choice(ANIMAL_ADJECTIVES_FOR[animal.en])
            self.set("a_animal", _a(f"{adj_en} {animal.en}"), f"一{animal.mw}{adj_zh}{animal.zh}")
            self.set("doing", animal.doing_en, animal.doing_zh)

    def day(self, *weather: str, parts: tuple[str, ...] = ()) -> None:
        """Say what kind of day it was and ask about it: weather that suits the place (or one of ``weather``),
        at a time of day (one of ``parts``, if given)."""
        part_en, part_zh = self.choice([row for row in DAY_PARTS if not parts or row[0] in parts])
        rows = [row for row in WEATHER if (row[0] in weather if weather else row[2] == "out" or not self.place.outdoor)]
        if part_en == "evening":  # no "sunny evening", no "It was a perfect day to be outside" in the evening
            rows = [row for row in rows if row[0] not in ("sunny", "bright")] or rows
        wx_en, wx_zh, _ = self.choice(rows)
        hours = HOURS.get(part_en)
        that_zh = "那天" if part_en == "day" else f"那天{part_zh}"
        if part_en != "day" and self.rng.random() < 0.5:
            part_en, part_zh = f"{self.en['weekday']} {part_en}", f"{self.zh['weekday']}{part_zh}"
            that_zh = f"那个{part_zh}"
        self.set("that_time", f"that {part_en}", that_zh)
        self.set("weather", wx_en, wx_zh)
        self.set("a_weather", _a(wx_en), wx_zh)
        self.set("time", part_en, part_zh)
        if hours and self.digits and self.rng.random() < 0.4:
            self.number("hour", *hours)
            self.say(("It was {hour} o'clock on {a_weather} {time}.", "那是一个{weather}的{time}，时间是{hour}点。"),
                     ("{name} looked at the clock. It was {hour} o'clock on {a_weather} {time}.",
                      "{name}看了看钟。那是一个{weather}的{time}，已经{hour}点了。"))
        else:
            self.say(("It was {a_weather} {time}.", "那是一个{weather}的{time}。"),
                     ("{name} looked out of the window. It was {a_weather} {time}.",
                      "{name}朝窗外看了看。那是一个{weather}的{time}。"))
        daytime = not part_en.endswith("evening")
        self.maybe(0.6, *[(en, zh) for wx, en, zh, when in WEATHER_LINES if wx == wx_en and (daytime or when != "day")])
        if part_en.endswith("morning"):
            self.set("breakfast", *self.choice(BREAKFASTS))
            self.maybe(0.4, ("For breakfast, {he} had {breakfast}.", "{he}早饭{breakfast}。"))
        self.maybe(0.4, *[("{He} put on {his} " + en + ".",
                           "{he}" + zh + "。") for wx, en, zh in CLOTHES if wx == wx_en])
        self.ask(("What was the weather like {that_time}?", "{weather}"), ("{that_time}天气怎么样？", "{weather}"))

    def view(self, p: float = 0.6) -> None:
        """Maybe describe the place."""
        self.maybe(p, *[(en, zh) for place, en, zh in PLACE_VIEWS if place == self.place.en])

    def sight(self, p: float = 0.5, who: Variant = ("{They}", "{they}")) -> None:
        """Maybe let ``who`` see an animal that lives at the place, doing what it does."""
        if "a_animal" in self.en:
            self.maybe(p, (who[0] + " saw {a_animal} {doing}.", who[1] + "看到{a_animal}{doing}。"),
                       ("Nearby, there was {a_animal} {doing}.", "不远处，有{a_animal}{doing}。"))

    def count(self, p: float = 0.6) -> None:
        """In a story that writes digits, maybe say something about the place with a number in it."""
        rows = [row for row in PLACE_NUMBERS if row[0] == self.place.en]
        if rows:
            _, en, zh, span = self.choice(rows)
            low, high = (int(x) for x in span.split("-"))
            self.numeral(p, low, high, (en, zh))

    def item(self, *nouns: str, kinds: tuple[str, ...] = ()) -> None:
        """Choose a thing the main character owns (one of ``nouns``, or one whose first adjective group is in
        ``kinds``, or any), maybe with an adjective; set ``{item}``, ``{a_item}``, ``{his_item}``, ``{my_item}``..."""
        rows = [row for row in OBJECTS if (row[0] in nouns if nouns else not kinds or row[3].split()[0] in kinds)]
        en, zh, mw, adjective_kinds = self.choice(rows)
        self.set("thing", en, zh)
        adj_zh = ""
        if self.rng.random() < 0.85:
            adj_en, adj_zh = self.choice(OBJECT_ADJECTIVES[self.choice(adjective_kinds.split())])
            adj_zh = _zh_color(adj_en, adj_zh, zh)
            en, zh = f"{adj_en} {en}", adj_zh + zh
        own = "" if adj_zh.endswith("的") else "的"  # 她闪亮的钥匙, but 她的红球
        self.set("item", en, zh)
        self.set("a_item", _a(en), f"一{mw}{zh}")
        self.set("that_item", f"the {en}", f"那{mw}{zh}")
        self.set("his_item", "{his} " + en, "{he}" + own + zh)
        self.set("my_item", "my " + en, "我" + own + zh)

    def end(self, happy: bool, *feelings: str) -> None:
        """Close the story: how the main character felt (from ``feelings`` if given) and a question about it.

        The closing lines follow story time: "smiled all the way home" and a pet waiting at home only while the
        child is still out, "That night..." only before the story has moved on to the next day, and no second
        "In the end" (最后).
        """
        if happy and not self.home:
            self.maybe(0.12, ("{name} smiled all the way home.", "{name}一路笑着回了家。"))
        if self.has_pet and not self.home and not self.later:
            self.maybe(0.5, ("When {name} got home, {pet_name} the {pet} ran to meet {him}.",
                             "{name}回到家的时候，{pet}{pet_name}跑过来迎接{him}。"))
        feel_en, feel_zh = self.choice([row for row in FEELINGS[happy] if not feelings or row[0] in feelings])
        self.set("feel", feel_en, feel_zh)
        heart = FEEL_ZH.get(feel_en, "心里很" + feel_zh)
        self.set("felt_very", "", FEEL_ZH.get(feel_en, "感到非常" + feel_zh))
        self.set("felt_heart", "", heart)
        closings: list[Variant] = [("{name} felt very {feel}.", "{name}{felt_very}。")]
        if not any("In the end" in line for line in self.lines_en) and not any("最后" in x for x in self.lines_zh):
            closings.append(("In the end, {name} felt {feel}.", "最后，{name}{felt_heart}。"))
        if not self.later:
            closings.append(("That night, {name} went to bed feeling {feel}.",
                             "那天晚上，{name}上床睡觉的时候，{felt_heart}。"))
        self.say(*closings)
        if happy:
            self.maybe(0.3, ("It had been a wonderful day.", "这真是美好的一天。"),
                       ("It was a day {name} would always remember.", "{name}永远也不会忘记这一天。"))
        else:
            self.maybe(0.3, ("Not every day ends the way we hope.", "并不是每一天都会像我们希望的那样结束。"),
                       ("{name} wished the day had gone differently.", "{name}真希望这一天能过得不一样。"),
                       ("Maybe tomorrow would be a better day, {name} thought.", "{name}心想，也许明天会好一些吧。"))
        self.ask(("How did {name} feel at the end?", "{feel}"), ("最后{name}感觉怎么样？", "{feel}"))


# ---------------------------------------------------------------------------------------------------------------------
# Story shapes. Each writes the body and the ending, and asks its own questions.

PLAY_PLACES = ("park", "beach", "playground", "garden", "meadow", "field", "school", "village", "pond", "lake")
WHERE: tuple[Variant, Variant] = (("Where did {name} go?", "the {place}"), ("{name}去了哪里？", "{place}"))


def _went_with_adult(w: _Writer) -> None:
    w.say(("{name} went to the {place} with {his} {adult}.", "{name}和{adult}一起去了{place}。"),
          ("{His} {adult} took {him} to the {place}.", "{adult}带{him}去了{place}。"))


def _lost(w: _Writer, happy: bool) -> None:
    w.at()
    w.item()
    w.lost_item = w.en["item"]
    w.say(("{name} had {a_item}, and {he} took it everywhere.", "{name}有{a_item}，{he}走到哪儿都带着它。"),
          ("{His} {adult} had once given {him} {a_item}, and {he} loved it very much.",
           "{adult}曾经送给{him}{a_item}，{he}非常喜欢它。"),
          ("{name}'s favorite thing in the whole world was {a_item}.", "{name}在世界上最喜欢的东西是{a_item}。"))
    w.day()
    w.say(("{name} took {his_item} to the {place}.", "{name}带着{his_item}去了{place}。"),
          ("That day, {name} went to the {place}, and {he} took {his_item} along.",
           "那天，{name}去了{place}，还带上了{his_item}。"))
    w.view(0.4)
    w.sight(0.4, ("{He}", "{he}"))
    w.say(("{He} {act}.", "{he}{act}。"), ("First, {he} {act}, and then {he} {act2}.", "{he}先{act}，然后又{act2}。"),
          ("{He} {act} and had a lot of fun.", "{he}{act}，开心极了。"))
    w.count()
    w.say(("But when it was time to go home, {his_item} was gone!", "可是到了该回家的时候，{his_item}不见了！"),
          ("Suddenly, {name} saw that {his_item} was missing!", "突然，{name}发现{his_item}不见了！"),
          ("After a while, {name} looked around, and {his_item} was not there anymore!",
           "过了一会儿，{name}往四周一看，{his_item}不见了！"))
    w.say(("{name} felt sad because {he} had lost {his_item}.", "{name}很难过，因为{he}把{item}弄丢了。"),
          ("{name} was worried, so {he} started to look for it at once.", "{name}很着急，所以{he}马上开始找。"))
    spots = w.rng.sample(SPOTS[w.place.outdoor], 3)
    for i, (spot_en, spot_zh) in enumerate(spots):
        w.set(f"spot{i}", spot_en, spot_zh)
    w.say(("{He} looked {spot0}, and then {he} looked {spot1}.", "{he}在{spot0}找了找，又在{spot1}找了找。"),
          ("{He} searched {spot0} and {spot1}.", "{he}在{spot0}和{spot1}都找过了。"))
    w.say(("But the {item} was not there.",
           "可是{item}不在那里。"), ("But {he} could not find it anywhere.", "可是哪儿都找不到。"))
    w.say(('Just then, {his_friend} came by. "Why are you sad?" asked {friend}.',
           "就在这时，{his_friend}走了过来。{friend}问：“你怎么不高兴呀？”"),
          ('Then {his_friend} came over. "What happened?" {fhe} asked.',
           "这时，{his_friend}走了过来，问：“发生什么事了？”"))
    w.say(('"I lost {my_item}," said {name}.', "{name}说：“{my_item}不见了。”"))
    w.say(('"Don\'t worry. I will help you look," said {friend}.', "{friend}说：“别担心，我帮你一起找。”"),
          ('"Let\'s look for it together," said {friend}.', "{friend}说：“我们一起找吧。”"))
    if happy:
        w.say(('{They} looked everywhere. At last, {friend} shouted, "Here it is!" The {item} was {spot2}.',
               "{they}到处找。终于，{friend}大喊：“在这儿呢！”{item}就在{spot2}。"),
              ("{They} walked back the way {name} had come, and there was the {item}, {spot2}!",
               "{they}沿着{name}来时的路往回走，{item}就在{spot2}！"))
        w.say(('{name} held {his_item} tight. "Thank you, {friend}!" {he} said.',
               "{name}紧紧地拿着{his_item}，说：“谢谢你，{friend}！”"),
              ("{name} gave {friend} a big hug.", "{name}给了{friend}一个大大的拥抱。"))
        w.maybe(0.4, ("From then on, {name} was very careful with {his_item}.",
                      "从那以后，{name}对{his_item}格外小心。"))
        w.end(happy, "happy", "glad", "relieved", "grateful")
    else:
        w.say(("{They} looked until it was dark, but {they} never found the {item}.",
               "{they}一直找到天黑，可还是没有找到{item}。"),
              ("{They} looked and looked, but the {item} was nowhere to be found.",
               "{they}找啊找，可是{item}怎么也找不到。"))
        if w.maybe(0.5, ("{name} had to go home without {his_item}.", "{name}只好空着手回了家。")):
            w.went_home()
        else:
            w.say(("Maybe someone else found it one day, but {name} never saw it again.",
                   "也许有一天别人捡到了它，可是{name}再也没有见过它。"))
        w.end(happy, "sad", "upset", "unhappy", "miserable")
    w.ask(("What did {name} lose?", "{item}"), ("{name}丢了什么？", "{item}"))
    w.ask(("Who helped {name} look?", "{friend}"), ("谁帮{name}一起找？", "{friend}"))
    w.ask(*WHERE)


FEATURES = _rows(_lexicon("features"))


def _friend(w: _Writer, happy: bool) -> None:
    w.at("park", "beach", "playground", "zoo", "library", "lake", "pond", "swimming pool", "meadow", "fair", "school",
         "ice rink", "campsite", "village", "museum")
    w.day()
    _went_with_adult(w)
    w.view(0.5)
    w.set("feature", *w.choice(FEATURES))
    w.say(("There, {name} saw a {fkid} {feature} sitting all alone.",
           "在那里，{name}看见一个{feature}{fkid}独自坐着。"),
          ("{At_place}, {name} noticed a {fkid} {feature} who was standing by {fhimself}.",
           "{at_place}，{name}注意到一个{feature}{fkid}一个人站着。"))
    w.maybe(0.5, ("The {fkid} looked a little sad.", "那个{fkid}看起来有点难过。"))
    w.say(("{name} felt shy, but {he} walked over and said hello.", "{name}有点害羞，可是{he}还是走过去打了个招呼。"),
          ('{name} walked over. "Hello! My name is {name}. What is your name?" {he} asked.',
           "{name}走了过去，问：“你好！我叫{name}。你叫什么名字？”"))
    w.say(('"I am {friend}," said the {fkid}. "We just moved here, and I do not know anyone yet."',
           "那个{fkid}说：“我叫{friend}。我们刚搬到这里，我谁也不认识。”"),
          ('"My name is {friend}," the {fkid} said quietly. {friend} had just moved to town, so {fhe} had no '
           'friends yet.',
           "那个{fkid}小声说：“我叫{friend}。”{friend}刚搬到镇上，所以{fhe}还没有朋友。"))
    w.maybe(0.5, ('"What do you like to do?" asked {friend}. "I love {hobby}," said {name}.',
                  "{friend}问：“你喜欢做什么？”{name}说：“我最喜欢{hobby}了。”"))
    w.say(("{name} shared {his} {food} with {friend}.", "{name}把{his}{food}分给{friend}吃。"),
          ('"Would you like some {food}?" asked {name}. {friend} smiled and said, "Yes, please!"',
           "{name}问：“你想吃点{food}吗？”{friend}笑着说：“好呀，谢谢！”"))
    w.say(("Then {they} {act} together.", "然后，{they}一起{act}。"),
          ("Together, {they} {act}, and then {they} {act2}.", "{they}一起{act}，然后又{act2}。"))
    w.sight()
    w.count(0.5)
    if happy:
        w.say(('When it was time to go home, {friend} asked, "Can we play again tomorrow?" "Yes!" said {name}.',
               "到了回家的时候，{friend}问：“我们明天还能一起玩吗？”{name}说：“当然可以！”"))
        w.numeral(0.5, 2, 199, ('"I live at number {n}," said {friend}.', "{friend}说：“我家住在{n}号。”"))
        w.say(("From that day on, {name} and {friend} were best friends.",
               "从那天起，{name}和{friend}成了最好的朋友。"),
              ("{name} had found a new friend, and {friend} was not lonely anymore.",
               "{name}交到了一个新朋友，{friend}也不再孤单了。"))
        w.end(happy, "happy", "glad", "cheerful", "joyful")
    else:
        w.say(("The next day, {name} went back to the {place}, but {friend} was not there.",
               "第二天，{name}又去了{place}，可是{friend}不在那里。"))
        w.went_home(later=True)
        w.say(("{friend}'s family had moved away again, and {name} never saw {fhim} again.",
               "{friend}一家又搬走了，{name}再也没有见过{fhim}。"))
        w.end(happy, "lonely", "sad", "disappointed")
    w.ask(("Who did {name} meet at the {place}?", "{friend}"), ("{name}在{place}遇见了谁？", "{friend}"))
    w.ask(("What did {name} share with {friend}?", "{food}"), ("{name}把什么分给了{friend}？", "{food}"))
    w.ask(*WHERE)


ON_THE_WAY = _rows(_lexicon("on_the_way"))

# how | 中文 | the vehicle, if one carries the travelers ("-" on foot or by bike) | 中文
TRANSPORT = _rows(_lexicon("transport"))
BOATS = _rows(_lexicon("boats"))

# the way home, happy and sad, for each way of traveling ("vehicle": any vehicle)
WAY_HOME: dict[str, tuple[list[Variant], list[Variant]]] = {
    "vehicle": ([("On the way home, {name} fell asleep {in_vehicle} and dreamed about the {place}.",
                  "回家的路上，{name}在{vehicle}上睡着了，还梦见了{place}。")],
                [("{name} sat quietly {in_vehicle} all the way home and did not say a word.",
                  "回家的路上，{name}静静地坐在{vehicle}上，一句话也没说。")]),
    "on foot": ([("On the walk home, {name} talked about the {place} the whole way.",
                  "走路回家的时候，{name}一路上都在讲{place}的事。")],
                [("{name} walked home slowly and did not say a word.", "{name}慢慢地走回了家，一句话也没说。")]),
    "by bike": ([("{name} rode home slowly and thought about the {place} all the way.",
                  "{name}慢慢地骑车回家，一路上都在想着{place}。")],
                [("{name} rode home slowly behind {his} {adult} and did not say a word.",
                  "{name}跟在{adult}后面慢慢地骑回了家，一句话也没说。")]),
}
WINDOW: Variant = ("{name} looked out of the {vehicle} window all the way home and did not say a word.",
                   "回家的路上，{name}一直望着{vehicle}的窗外，一句话也没说。")

# a number about the journey, for each way of traveling: sentence, 中文, lowest, highest
TRIP_NUMBERS: dict[str, tuple[str, str, int, int]] = {
    "by bus": ("It was bus number {n}.", "那是{n}路公共汽车。", 1, 120),
    "by tram": ("It was tram number {n}.", "那是{n}路有轨电车。", 1, 40),
    "by train": ("The train left at {n} o'clock.", "火车{n}点开。", 7, 10),
    "by boat": ("The boat left at {n} o'clock.", "船{n}点出发。", 7, 10),
    "by ferry": ("The ferry left at {n} o'clock.", "渡轮{n}点出发。", 7, 10),
    "by car": ("The {place} was {n} kilometers from home.", "{place}离家有{n}公里远。", 10, 150),
    "by taxi": ("The {place} was {n} kilometers from home.", "{place}离家有{n}公里远。", 5, 40),
    "on foot": ("The {place} was only {n} kilometers from home.", "{place}离家只有{n}公里。", 2, 5),
    "by bike": ("The {place} was {n} kilometers from home.", "{place}离家有{n}公里远。", 3, 15),
}


def _trip(w: _Writer, happy: bool) -> None:
    w.at("beach", "forest", "farm", "zoo", "lake", "island", "museum", "aquarium", "castle", "circus", "fair",
         "waterfall", "harbor", "orchard", "campsite", "village", "river", "hill")
    w.group("name", "adult")
    how_en, how_zh, vehicle_en, vehicle_zh = w.choice(BOATS if w.place.en == "island" else TRANSPORT)
    w.set("transport", how_en, how_zh)
    w.set("vehicle", vehicle_en, vehicle_zh)
    w.set("in_vehicle", f"{'in' if vehicle_en in ('car', 'taxi') else 'on'} the {vehicle_en}", vehicle_zh)
    way = "vehicle" if vehicle_en != "-" else how_en
    w.item(kinds=("color", "book", "size", "new"))
    w.say(("{name} and {his} {adult} were going on a trip to the {place}.", "{name}要和{adult}一起去{place}玩。"),
          ('One day, {name}\'s {adult} said, "Let\'s go to the {place}!"',
           "有一天，{adult}对{name}说：“我们去{place}玩吧！”"))
    w.say(("{name} was so excited that {he} could not sleep the night before.", "{name}兴奋得前一天晚上都睡不着觉。"),
          ("{name} jumped up and down because {he} was so excited.", "{name}兴奋得又蹦又跳。"))
    w.say(("{He} packed {a_item} and some {food}.", "{he}带上了{a_item}和一些{food}。"))
    w.day(parts=("morning", "day"))
    w.say(("{They} went to the {place} {transport}.", "{they}{transport}去了{place}。"),
          ("{They} traveled to the {place} {transport}, and the trip took all morning.",
           "{they}{transport}去{place}，路上花了一整个上午。"))
    number_en, number_zh, low, high = TRIP_NUMBERS[how_en]
    w.numeral(0.7, low, high, (number_en, number_zh))
    w.set("passed", *w.choice(ON_THE_WAY))
    w.maybe(0.5, ("On the way, {they} passed {passed}.", "路上，{they}经过了{passed}。"))
    w.view(0.7)
    w.sight(0.7)
    w.count(0.4)
    w.say(("First, {they} {act}.",
           "{they}先{act}。"), ("{They} {act}, and {name} laughed a lot.", "{they}{act}，{name}笑个不停。"))
    w.say(("For lunch, {they} ate the {food} that {name} had packed.", "午饭时，{they}吃了{name}带来的{food}。"))
    if happy:
        w.say(("After lunch, {they} {act2}.", "吃完午饭，{they}又{act2}。"))
        if not w.maybe(0.5, *WAY_HOME[way][0]):
            w.say(("It was the best day ever.", "这真是最棒的一天。"))
        else:
            w.went_home()
        w.end(happy, "happy", "excited", "joyful", "cheerful")
    else:
        rain: Variant = (
            "But then dark clouds came, and it began to rain hard. {They} had to go home early, wet and cold.",
            "可是没过多久，天上飘来了乌云，下起了大雨。{they}只好早早地回家了，浑身又湿又冷。")
        sick: Variant = (
            "But after lunch, {name} began to feel sick. {His} tummy hurt, so {they} had to go home early.",
            "可是吃完午饭，{name}觉得不舒服。{he}肚子疼，所以{they}只好早早地回家了。")
        w.say(*((rain, sick) if w.place.outdoor else (sick,)))
        w.went_home()
        windows = [WINDOW] if vehicle_en not in ("-", "boat", "ferry") else []
        w.say(("{name} had wanted to see so much more.", "{name}本来还想看更多的东西。"), *WAY_HOME[way][1], *windows)
        w.end(happy, "disappointed", "sad", "unhappy")
    w.ask(*WHERE)
    w.ask(("How did {name} and {his} {adult} get to the {place}?",
           "{transport}"), ("{name}和{adult}是怎么去{place}的？", "{transport}"))
    w.ask(("What did {name} pack?", "{item}"), ("{name}带上了什么？", "{item}"))


def _kite_in_tree(w: _Writer, happy: bool) -> None:
    w.at("park", "hill", "field", "meadow", "orchard", "campsite")
    w.item("kite")
    w.day("sunny", "windy", "bright", "cool")
    w.say(("{name} was flying {his_item} {at_place}.", "{name}{at_place}放{his_item}。"))
    w.view(0.4)
    w.say(("The kite flew higher and higher.", "风筝越飞越高。"))
    w.say(("Then a strong wind blew, and the kite got stuck in a tall tree.",
           "突然，一阵大风吹来，风筝挂在了一棵高高的树上。"))
    w.numeral(0.6, 8, 25, ("The tree was {n} meters tall.", "那棵树有{n}米高。"))
    w.say(("{name} could not reach it because the branch was too high.", "树枝太高了，{name}够不着。"))
    w.say(("{He} jumped and jumped, but it was no use.", "{he}跳了又跳，可是一点用也没有。"))
    if happy:
        w.group("name", "friend")
        w.say(("Then {name} had an idea. {He} ran to get {his} {adult}, who brought a long ladder.",
               "这时，{name}想到了一个好主意。{he}跑去叫来了{adult}，{adult}搬来了一把长长的梯子。"),
              ("Then {name} asked {his_friend} for help. Together, {they} used a long stick to push the kite free.",
               "于是，{name}请{his_friend}来帮忙。{they}一起用一根长长的棍子把风筝捅了下来。"))
        w.say(("The kite came down safely, and it was not broken at all.", "风筝平安地落了下来，一点儿也没坏。"))
        w.end(happy, "happy", "relieved", "glad")
    else:
        w.say(("{name} pulled the string harder, but the string snapped.", "{name}使劲拉了拉线，可是线断了。"))
        w.say(("The wind carried the kite away over the trees, and {name} never saw it again.",
               "大风把风筝吹过了树梢，{name}再也没有见过它。"))
        w.end(happy, "sad", "upset", "miserable")
    w.ask(("What got stuck in the tree?", "{item}"), ("什么东西挂在了树上？", "{item}"))


def _broken_toy(w: _Writer, happy: bool) -> None:
    w.at(*PLAY_PLACES)
    w.item("toy car", "toy train", "toy boat", "toy plane", "robot", "doll", "puppet", "toy dinosaur", "drum")
    w.group("name", "adult")
    w.day()
    w.say(("{name} was playing with {his_item} {at_place}.", "{name}{at_place}玩{his_item}。"))
    w.say(("Suddenly, it fell onto the hard ground and broke into two pieces.",
           "突然，它掉在了硬邦邦的地上，摔成了两半。"))
    w.say(("{name} began to cry, because it was {his} favorite toy.", "{name}哭了起来，因为那是{he}最心爱的玩具。"))
    w.say(("{He} picked up the pieces and carried them home.", "{he}捡起碎片，把它们带回了家。"))
    w.went_home()
    if happy:
        w.say(('{His} {adult} looked at the pieces and said, "I think we can fix it."',
               "{adult}看了看碎片，说：“我觉得我们能把它修好。”"))
        w.say(("Together, {they} glued the pieces and waited for the glue to dry.",
               "{they}一起用胶水把碎片粘好，然后等胶水变干。"))
        w.say(("The next morning, the {thing} was as good as new.", "第二天早上，{thing}就跟新的一样了。"))
        w.went_home(later=True)
        w.end(happy, "happy", "glad", "grateful")
    else:
        w.say(("{His} {adult} tried to fix it with glue and tape, but the pieces would not stay together.",
               "{adult}用胶水和胶带试着修它，可是碎片怎么也粘不到一起。"))
        w.say(("The {item} could never be fixed.", "{item}再也修不好了。"))
        w.end(happy, "sad", "upset", "miserable")
    w.ask(("What broke?", "{item}"), ("什么东西摔坏了？", "{item}"))


def _ball_over_fence(w: _Writer, happy: bool) -> None:
    w.at("park", "playground", "school", "field", "village")
    w.item("ball", "football")
    w.day()
    w.say(("{name} and {his_friend} were playing with {his_item} {at_place}.",
           "{name}和{his_friend}{at_place}玩{his_item}。"))
    w.say(("{name} kicked it so hard that it flew over a high fence.",
           "{name}踢得太用力了，它一下子飞过了一道高高的篱笆。"))
    w.say(("On the other side of the fence lived an old man with a grumpy face.",
           "篱笆的另一边住着一位看起来脾气很坏的老爷爷。"))
    w.numeral(0.5, 2, 180, ("The old man's house was number {n}.", "老爷爷家是{n}号。"))
    w.say(("{name} was scared to knock on his door, but {he} wanted {his_item} back.",
           "{name}不敢去敲他的门，可是{he}想要回{his_item}。"))
    w.say(("So {name} took a deep breath and knocked.", "于是，{name}深深地吸了一口气，敲了敲门。"))
    if happy:
        w.say(('The old man opened the door, holding the {item}. "Is this yours?" he asked with a smile.',
               "老爷爷打开门，手里拿着{item}，笑眯眯地问：“这是你们的吗？”"))
        w.say(("He was not grumpy at all. He even gave {them} some {food}.",
               "原来他一点儿也不凶，还请{them}吃了一些{food}。"))
        w.end(happy, "happy", "relieved", "glad")
    else:
        w.say(("{name} knocked and knocked, but nobody came to the door.", "{name}敲了又敲，可是没有人来开门。"))
        w.say(("The fence was much too high to climb, so {they} had to go home and leave the {item} behind.",
               "篱笆太高了，根本爬不过去，所以{they}只好丢下{item}回家了。"))
        w.went_home()
        w.end(happy, "sad", "upset", "worried")
    w.ask(("What flew over the fence?", "{item}"), ("什么东西飞过了篱笆？", "{item}"))
    w.ask(("Who lived behind the fence?", "an old man"), ("谁住在篱笆的另一边？", "老爷爷"))


def _thirsty_garden(w: _Writer, happy: bool) -> None:
    w.at("garden", "farm", "orchard", "village")
    w.day("sunny", "bright", "warm")
    w.say(("It had not rained for many days, and the flowers {in_place} were drooping.",
           "已经很多天没有下雨了，{in_place}的花都耷拉着脑袋。"))
    w.say(("{name} wanted to help the flowers, but the hose was broken.", "{name}想救救这些花，可是水管坏了。"))
    w.say(("So {name} and {his_friend} carried water from the pond in two little buckets.",
           "于是，{name}和{his_friend}用两个小桶从池塘里提水。"))
    w.say(("{They} walked back and forth many times, and {their} arms grew tired.",
           "{they}来来回回走了很多趟，胳膊都酸了。"))
    w.numeral(0.6, 12, 40, ("In all, {they} carried {n} buckets of water.", "{they}一共提了{n}桶水。"))
    w.went_home(later=True)  # the ending is the next morning
    if happy:
        w.say(("The next morning, the flowers were standing up straight again.", "第二天早上，花儿们又挺直了腰。"))
        w.say(("{name} and {friend} laughed and gave each other a high five.", "{name}和{friend}笑着击了一下掌。"))
        w.end(happy, "happy", "proud", "glad")
    else:
        w.say(("But the sun was too hot, and the water was not enough.", "可是太阳太毒了，这点水根本不够。"))
        w.say(("By the next morning, many of the flowers had died.", "到了第二天早上，很多花还是枯死了。"))
        w.end(happy, "sad", "disappointed", "upset")
    w.ask(("What was broken?", "the hose"), ("什么东西坏了？", "水管"))
    w.ask(("What did {name} and {friend} carry water in?",
           "two little buckets"), ("{name}和{friend}用什么提水？", "两个小桶"))


def _leaky_boat(w: _Writer, happy: bool) -> None:
    w.at("pond", "lake", "river")
    w.item("toy boat")
    w.day()
    w.count(0.4)
    w.say(("{name} put {his_item} on the water {at_place}.", "{name}{at_place}把{his_item}放进了水里。"))
    w.say(("At first it sailed beautifully, but then it began to fill with water.",
           "一开始它漂得很好，可是后来船里开始进水了。"))
    w.say(("There was a small hole in the bottom, so the boat was sinking.", "船底有一个小洞，所以船正在往下沉。"))
    w.say(("{name} quickly pulled it out with a long stick.", "{name}赶紧用一根长棍子把它拨了回来。"))
    if happy:
        w.say(("Then {name} had an idea. {He} filled the hole with a little ball of wax from an old candle.",
               "这时，{name}想到了一个好办法。{he}用旧蜡烛上的一小团蜡把洞堵上了。"))
        w.say(("When {he} put the boat back on the water, it floated again, and not a drop came in.",
               "{he}再把船放进水里，它又漂起来了，一滴水也没有进。"))
        w.end(happy, "happy", "proud", "glad")
    else:
        w.say(("{He} tried to fix the hole with some mud and leaves, but the water still came in.",
               "{he}想用泥巴和树叶把洞堵上，可是水还是往里进。"))
        w.say(("At last the boat sank to the bottom, and {name} could not get it back.",
               "最后，小船沉到了水底，{name}再也捞不回来了。"))
        w.end(happy, "sad", "disappointed", "upset")
    w.ask(("What had a hole in it?", "{item}"), ("什么东西上有个洞？", "{item}"))


def _lost_the_way(w: _Writer, happy: bool) -> None:
    w.at("forest", "hill", "field", "meadow")
    w.day()
    w.say(("{name} and {his_friend} went for a walk {at_place}.", "{name}和{his_friend}{at_place}散步。"))
    w.say(("{They} {act}, and then {they} {act2}.", "{they}{act}，然后又{act2}。"))
    w.say(("When {they} wanted to go home, every path looked the same.",
           "等{they}想回家的时候，每条小路看起来都一模一样。"))
    w.numeral(0.6, 20, 90, ("{They} had been walking for {n} minutes.", "{they}已经走了{n}分钟了。"))
    w.say(("{They} had lost {their} way, so {they} stood still and tried to remember.",
           "{they}迷路了，所以{they}站着不动，努力回想。"))
    if happy:
        w.say(('Then {name} said, "Listen! I can hear the bell of the village church."',
               "这时，{name}说：“听！我听到村子里教堂的钟声了。”"))
        w.say(("{They} walked toward the sound, and soon {they} saw the roofs of home.",
               "{they}朝着钟声走去，很快就看到了家里的屋顶。"))
        w.went_home()
        w.end(happy, "relieved", "happy", "proud")
    else:
        w.say(("{They} walked and walked, but the sun went down, and it grew cold and dark.",
               "{they}走啊走，太阳落山了，天又冷又黑。"))
        w.say(("At last {name}'s {adult} found them with a flashlight, but {they} were tired, hungry and shaking.",
               "最后，{adult}拿着手电筒找到了{them}，可是{they}又累又饿，浑身发抖。"))
        w.end(happy, "scared", "upset", "worried")
    w.ask(("Who went for a walk with {name}?", "{friend}"), ("谁和{name}一起去散步？", "{friend}"))


def _problem(w: _Writer, happy: bool) -> None:
    w.choice((_kite_in_tree, _broken_toy, _ball_over_fence, _thirsty_garden, _leaky_boat, _lost_the_way))(w, happy)
    w.ask(*WHERE)


def _quarrel(w: _Writer, happy: bool) -> None:
    w.at(*PLAY_PLACES)
    w.item(kinds=("color", "size", "soft", "new"))
    w.day()
    w.say(("{name} and {his_friend} were playing {at_place}.", "{name}和{his_friend}{at_place}玩。"))
    w.view(0.4)
    w.sight(0.3)
    w.count(0.4)
    w.say(("Both of them wanted to play with {that_item} at the same time.", "{they}俩都想同时玩{that_item}。"))
    w.say(("{name} pulled it one way, and {friend} pulled it the other way.", "{name}往这边拉，{friend}往那边拉。"))
    w.say(('"It is my turn!" shouted {name}. "No, it is my turn!" cried {friend}.',
           "{name}大喊：“该轮到我了！”{friend}叫道：“不，该轮到我了！”"))
    w.say(("{They} were both so angry that {they} stopped playing.", "{they}都气坏了，谁也不玩了。"))
    w.say(("{friend} walked away and sat down alone.", "{friend}走到一边，一个人坐了下来。"))
    w.maybe(0.5, ("Nobody said anything for a long time.", "很久很久，谁也没有说话。"))
    if happy:
        w.say(("After a while, {name} began to feel sorry.", "过了一会儿，{name}开始后悔了。"),
              ("{name} thought about it and knew {he} had been unkind.", "{name}想了想，知道自己刚才做得不对。"))
        w.say(('{He} walked over to {friend} and said, "I am sorry. We can share it."',
               "{he}走到{friend}身边，说：“对不起，我们一起玩吧。”"))
        w.say(('{friend} smiled. "I am sorry too," {fhe} said.', "{friend}笑了，说：“我也有不对的地方。”"))
        w.say(("After that, {they} took turns, and soon {they} were laughing again.",
               "后来，{they}轮流玩，很快又笑成了一团。"))
        w.end(happy, "happy", "glad", "calm", "cheerful")
    else:
        w.say(("{name} wanted to say sorry, but the words would not come out.",
               "{name}想说对不起，可是话到嘴边又说不出口。"))
        w.say(("Soon it was time to go home, and {friend} left without saying goodbye.",
               "很快就到了回家的时候，{friend}连“再见”都没说就走了。"))
        w.say(("The two friends did not play together for a long time after that.",
               "从那以后，两个好朋友很久都没有一起玩。"))
        w.went_home(later=True)
        w.end(happy, "lonely", "sad", "unhappy")
    w.ask(("Who did {name} quarrel with?", "{friend}"), ("{name}和谁吵架了？", "{friend}"))
    w.ask(("What did {name} and {friend} fight over?", "{item}"), ("{name}和{friend}为什么东西吵架？", "{item}"))
    w.ask(("Where were {name} and {friend} playing?", "{at_place}"), ("{name}和{friend}在哪里玩？", "{at_place}"))


GAMES = _rows(_lexicon("games"))


def _party(w: _Writer, happy: bool) -> None:
    w.at("garden", "park", "beach", "meadow", "playground", "farm", "lake")
    guests = [row for row in NAMES if row[0] not in (w.en["name"], w.en["friend"]) and row[1] not in
              (w.zh["name"], w.zh["friend"])]
    for key, (en, zh, _) in zip(("guest2", "guest3"), w.rng.sample(guests, 2), strict=True):
        w.set(key, en, zh)
    cake_en, cake_zh = w.choice(CAKES)
    w.set("cake", cake_en, cake_zh)
    w.set("a_cake", _a(f"{cake_en} cake"), f"一个{cake_zh}蛋糕")
    color_en, color_zh = w.choice(OBJECT_ADJECTIVES["color"])
    w.set("color", color_en, _zh_color(color_en, color_zh, "气球"))
    w.set("game", *w.choice(GAMES))
    w.item(kinds=("color", "book", "soft", "new", "metal"))
    w.say(("Soon it would be {name}'s birthday. {He} was going to be {next_age} years old.",
           "{name}的生日快到了，{he}就要满{next_age}岁了。"),
          ("On {weekday}, {name} was going to turn {next_age}.", "{weekday}，{name}就要满{next_age}岁了。"))
    w.say(("{His} {adult} planned a party for {him} {at_place}.", "{adult}准备{at_place}给{him}办一个生日会。"))
    w.say(("{name} invited {friend}, {guest2} and {guest3}.", "{name}邀请了{friend}、{guest2}和{guest3}。"))
    w.day()
    if w.digits and w.rng.random() < 0.5:
        w.number("n", 12, 60)
        w.say(("There were {n} {color} balloons, and the table was full of {food}.",
               "一共有{n}个{color}气球，桌子上摆满了{food}。"))
    else:
        w.say(("There were {color} balloons everywhere, and the table was full of {food}.",
               "到处都是{color}气球，桌子上摆满了{food}。"))
    w.say(("{friend} came first and gave {name} {a_item}.", "{friend}第一个来，送给{name}{a_item}。"),
          ('{friend} arrived with a present. "Happy birthday!" {fhe} said. Inside was {a_item}.',
           "{friend}带着礼物来了，说：“生日快乐！”礼物是{a_item}。"))
    w.say(("{guest2} and {guest3} came too, and everyone played {game}.",
           "{guest2}和{guest3}也来了，大家一起玩{game}。"))
    if happy:
        w.say(("Then {his} {adult} brought out {a_cake} with {next_age} candles on it.",
               "然后，{adult}端出了{a_cake}，上面插着{next_age}根蜡烛。"))
        w.say(('Everyone sang "Happy Birthday," and {name} blew out all the candles at once.',
               "大家一起唱了《生日快乐》，{name}一口气吹灭了所有的蜡烛。"))
        w.say(("It was the best birthday party ever.", "这是最棒的生日会。"))
        w.end(happy, "happy", "excited", "joyful", "grateful")
    else:
        fall: Variant = (
            "Then {his} {adult} carried out {a_cake}, but {ahe} tripped over a toy, and the cake fell on the ground.",
            "然后，{adult}端出了{a_cake}，可是{ahe}被一个玩具绊了一下，蛋糕掉在了地上。")
        rain: Variant = (
            "Just as {his} {adult} brought out {a_cake}, it began to pour with rain, and everyone ran home.",
            "{adult}刚端出{a_cake}，天上就下起了倾盆大雨，大家都跑回了家。")
        if w.maybe(0.5, rain):
            w.went_home()
        else:
            w.say(fall)
        w.say(("There was no cake to eat and no candles to blow out.", "没有蛋糕可以吃，也没有蜡烛可以吹了。"))
        w.say(("{name} tried to smile, but {he} was close to tears.", "{name}想笑一笑，可是眼泪都快掉下来了。"))
        w.end(happy, "disappointed", "sad", "upset")
    w.ask(("Whose birthday was it?", "{name}"), ("这是谁的生日？", "{name}"))
    w.ask(("How old was {name} going to be?", "{next_age}"), ("{name}要满几岁了？", "{next_age}岁"))
    w.ask(("What did {friend} give {name}?", "{item}"), ("{friend}送给{name}什么？", "{item}"))
    w.ask(("What kind of cake was it?", "{cake}"), ("那是什么蛋糕？", "{cake}蛋糕"))
    w.ask(("Where was the party?", "{at_place}"), ("生日会在哪里办？", "{at_place}"))


class Need(NamedTuple):
    """Someone who needs help: who, where, the trouble, the offer, the help, and how it ends (no sad ending: None)."""

    who: Variant
    places: tuple[str, ...]
    trouble: Variant
    offer: Variant
    help: Variant
    happy: Variant
    sad: Variant | None


NEEDS = (
    Need(("an old woman", "一位老奶奶"), ("market", "village", "park", "bakery"),
         ("She was carrying two heavy bags of food, and she had to stop every few steps.",
          "她提着两大袋吃的，每走几步就得停下来歇一歇。"),
         ('"Can I help you?" asked {name}.', "{name}问：“我可以帮您吗？”"),
         ("{name} took one of the bags and carried it all the way to her door.",
          "{name}接过一个袋子，一直帮她提到了家门口。"),
         ('The old woman smiled. "Thank you, dear," she said, and she gave {name} a warm cookie.',
          "老奶奶笑了。她说：“谢谢你，好孩子。”还送给{name}一块热乎乎的饼干。"),
         ("But on the way, the bottom of the bag tore, and all the eggs fell out and broke. The old woman sighed, and "
          "{name} did not know what to say.",
          "可是走到半路，袋子底破了，鸡蛋全都掉出来摔碎了。老奶奶叹了一口气，{name}不知道该说什么才好。")),
    Need(("an old man", "一位老爷爷"), ("orchard", "market", "village", "park"),
         ("His basket had tipped over, and apples were rolling everywhere.", "他的篮子翻了，苹果滚得到处都是。"),
         ('"I will help you!" said {name}.', "{name}说：“我来帮您！”"),
         ("{name} ran after the apples and picked them up one by one.", "{name}追着苹果跑，把它们一个一个捡了起来。"),
         ('"What a kind child you are," said the old man, and he gave {name} the two reddest apples.',
          "老爷爷说：“你真是个好孩子。”他把两个最红的苹果送给了{name}。"),
         ("But a big dog ran past and knocked the basket over again, and this time the apples rolled into a muddy "
          "ditch. The old man shook his head sadly.",
          "可是一只大狗跑过来，又把篮子撞翻了，这一次苹果都滚进了满是泥巴的沟里。老爷爷难过地摇了摇头。")),
    Need(("a baby bird", "一只小鸟"), ("park", "garden", "forest", "orchard"),
         ("It had fallen out of its nest and was calling for its mother.",
          "它从鸟窝里掉了出来，正叽叽喳喳地叫着妈妈。"),
         ('"Poor little bird," said {name}. "I will help you."', "{name}说：“可怜的小鸟，我来帮你。”"),
         ("{name} picked it up very gently and looked up at the nest in the tree.",
          "{name}轻轻地把它捧起来，抬头看了看树上的鸟窝。"),
         ("{His} {adult} brought a ladder and put the baby bird back in its nest. Soon the mother bird came back with "
          "a worm, and the baby bird stopped crying.",
          "{adult}搬来一把梯子，把小鸟放回了鸟窝。不一会儿，鸟妈妈叼着一条虫子飞了回来，小鸟不再叫了。"),
         ("But the nest was much too high, and nobody could reach it. {name} put the bird in a soft box under the "
          "tree, but the next morning the box was empty, and nobody knew what had happened to it.",
          "可是鸟窝太高了，谁也够不着。{name}把小鸟放在树下一个软软的盒子里，可是第二天早上，盒子空了，谁也不知道它怎么样了。")),
    Need(("a lost puppy", "一只迷路的小狗"), ("park", "village", "market", "beach"),
         ("It was shaking, and there was no owner anywhere.", "它浑身发抖，附近一个主人也没有。"),
         ('"Don\'t be scared," said {name} softly.', "{name}轻声说：“别害怕。”"),
         ('The name on its collar was {dog}, so {name} walked all around the {place}, calling, "Whose dog is {dog}?"',
          "它的项圈上写着“{dog}”，于是{name}在{place}到处走，一边走一边喊：“{dog}是谁家的小狗？”"),
         ('At last, a girl came running. "{dog}! There you are!" she cried, and she thanked {name} again and again.',
          "终于，一个小姑娘跑了过来。她叫道：“{dog}！原来你在这儿！”她一遍又一遍地向{name}道谢。"),
         ("But nobody knew the puppy, and when a loud truck went by, it ran away and disappeared. {name} looked for it "
          "until dark, but the puppy was gone.",
          "可是谁也不认识这只小狗。一辆大卡车轰隆隆地开过，小狗吓得跑掉了，再也不见了。{name}一直找到天黑，也没有找到它。")),
    Need(("a little kitten", "一只小猫咪"), ("park", "garden", "village", "orchard"),
         ("It had climbed up a tall tree, and now it was too scared to come down.",
          "它爬上了一棵高高的树，现在吓得不敢下来了。"),
         ('"Come down, little one," called {name}.', "{name}喊道：“下来吧，小家伙。”"),
         ("{name} held out {his} arms and waited very patiently under the tree.", "{name}张开双臂，在树下耐心地等着。"),
         ("Slowly, the kitten climbed down and jumped right into {name}'s arms. Its owner came running and thanked "
          "{name} with a big smile.",
          "小猫咪慢慢地爬了下来，一下子跳进了{name}的怀里。它的主人跑过来，笑着向{name}道谢。"),
         ("But the kitten only climbed higher and higher. When it got dark, {name} had to go home, and the kitten was "
          "still up in the tree.", "可是小猫咪越爬越高。天黑了，{name}只好回家，小猫咪还待在树上。")),
    Need(("a little boy", "一个小男孩"), ("park", "playground", "village", "field"),
         ("He had fallen off his bike, his knee was bleeding, and he was crying.",
          "他从自行车上摔了下来，膝盖流血了，正在哭。"),
         ('"Are you all right?" asked {name}.', "{name}问：“你没事吧？”"),
         ("{name} helped him up and pushed his bike for him, and {his} {adult} walked him home.",
          "{name}把他扶了起来，帮他推着自行车，{adult}把他送回了家。"),
         ("The boy's mother put a bandage on his knee and thanked {name} for being so kind.",
          "小男孩的妈妈给他的膝盖贴上了创可贴，谢谢{name}这么热心。"),
         None),
    Need(("a turtle", "一只乌龟"), ("pond", "lake", "river", "beach"),
         ("It was lying on its back, and it could not turn over.", "它四脚朝天地躺着，怎么也翻不过身来。"),
         ('"Hold on, little turtle," said {name}.', "{name}说：“别着急，小乌龟。”"),
         ("{name} turned it over very carefully.", "{name}非常小心地把它翻了过来。"),
         ("The turtle slowly walked back into the water, and it seemed to nod at {name}.",
          "乌龟慢慢地爬回了水里，好像还朝{name}点了点头。"),
         None),
)


def _helping(w: _Writer, happy: bool) -> None:
    need = w.choice([n for n in NEEDS if happy or n.sad])
    w.at(*need.places)
    w.set("who", *need.who)
    w.set("dog", *w.choice(PET_NAMES))
    w.day()
    _went_with_adult(w)
    w.view(0.4)
    w.say(("Suddenly, {name} saw {who}.",
           "突然，{name}看见了{who}。"), ("{At_place}, {name} noticed {who}.", "{at_place}，{name}注意到了{who}。"))
    w.say(need.trouble)
    w.say(need.offer)
    w.say(need.help)
    if happy:
        w.say(need.happy)
        w.maybe(0.5, ("Helping had made the whole day brighter.", "帮助别人让这一整天都变得更美好了。"))
        w.end(happy, "happy", "proud", "glad", "calm")
    else:
        w.say(need.sad)
        if "next morning" in need.sad[0] or "go home" in need.sad[0]:
            w.went_home(later="next morning" in need.sad[0])
        w.end(happy, "sad", "upset", "worried")
    w.ask(("Who needed help?", "{who}"), ("谁需要帮助？", "{who}"))
    w.ask(*WHERE)


class Fear(NamedTuple):
    """Something to be afraid of: what, where, the scene, and how being brave (or not) turns out."""

    what: Variant
    places: tuple[str, ...]
    scene: Variant
    brave: Variant
    scared: Variant


FEARS = (
    Fear(("the dark", "黑"), ("campsite", "forest"),
         ("When night came, it was very dark, and strange sounds came from the trees.",
          "天黑了，四周黑漆漆的，树林里传来了奇怪的声音。"),
         ('{name} took a deep breath and switched on {his} flashlight. The strange sound was only an owl saying '
          '"hoo, hoo."',
          "{name}深深地吸了一口气，打开了手电筒。原来那奇怪的声音只是一只猫头鹰在“咕咕”地叫。"),
         ("{name} hid under {his} blanket and did not come out until morning.",
          "{name}躲在毯子里，一直到天亮都不敢出来。")),
    Fear(("thunder", "打雷"), ("campsite", "farm", "village"),
         ("In the evening a big storm came, and the thunder was so loud that the ground seemed to shake.",
          "傍晚来了一场大暴风雨，雷声大得好像连地面都在晃。"),
         ('{His} {adult} held {his} hand and said, "Thunder is only a noise. It cannot hurt you." {name} counted '
          "slowly after each flash, and soon {he} was not afraid anymore.",
          "{adult}握着{his}手说：“打雷只是一种声音，它伤不到你。”每次闪电以后，{name}都慢慢地数数，很快{he}就不害怕了。"),
         ("{name} covered {his} ears and cried until the storm was over.", "{name}捂着耳朵，一直哭到暴风雨停了。")),
    Fear(("big dogs", "大狗"), ("park", "village", "farm"),
         ("On the path there was a big black dog, and it barked loudly.", "小路上有一只大黑狗，它汪汪地叫得很响。"),
         ("{name} stood very still and held out {his} hand. The dog sniffed it and wagged its tail. It was friendly "
          "after all!", "{name}一动不动地站着，伸出了手。大狗闻了闻，摇起了尾巴。原来它很友好！"),
         ("{name} turned around and ran all the way home, and {he} did not go back to the {place} for a long time.",
          "{name}转身一路跑回了家，很长时间都不敢再去{place}了。")),
    Fear(("deep water", "深水"), ("lake", "swimming pool", "river"),
         ("Everyone jumped into the water, but {name} stayed on the edge.", "大家都跳进了水里，{name}却站在边上不动。"),
         ('{His} {adult} held out both hands and said, "I will not let go." {name} slid into the water, kicked {his} '
          "legs, and laughed. It was fun!",
          "{adult}伸出双手说：“我不会松手的。”{name}滑进水里，蹬了蹬腿，笑了起来。真好玩！"),
         ("{name} sat on the edge for a long time and watched the others swim.",
          "{name}在边上坐了很久，看着别人游泳。")),
    Fear(("tall slides", "高高的滑梯"), ("playground", "park", "swimming pool"),
         ("There was a new slide there, and it was taller than a house.", "那里有一个新滑梯，比房子还高。"),
         ("{name} climbed up slowly, one step at a time. At the top, {he} closed {his} eyes, and whoosh! Down {he} "
          "went, faster and faster.",
          "{name}一级一级慢慢地爬了上去。到了顶上，{he}闭上眼睛，嗖的一下滑了下去，越滑越快。"),
         ("{name} climbed halfway up, but then {he} climbed back down again. {He} watched the other children slide and "
          "wished {he} were braver.", "{name}爬到一半，又爬了下来。{he}看着别的孩子滑下来，真希望自己能勇敢一点。")),
    Fear(("spiders", "蜘蛛"), ("garden", "farm", "forest", "castle"),
         ("A big spider was sitting in the middle of its web, right in front of {name}.",
          "一只大蜘蛛正趴在网中间，就在{name}面前。"),
         ("{name} looked closely and saw tiny drops of dew shining on the web. The spider was busy, not scary.",
          "{name}凑近一看，小小的露珠在蛛网上闪闪发光。蜘蛛只是在忙自己的事，一点也不可怕。"),
         ("{name} screamed and ran away, and {he} did not go near that corner again.",
          "{name}尖叫一声跑开了，再也不敢靠近那个角落。")),
    Fear(("bees", "蜜蜂"), ("garden", "meadow", "orchard"),
         ("Bees were buzzing all around the flowers, and one flew very close to {name}'s face.",
          "蜜蜂在花丛里嗡嗡地飞来飞去，有一只飞到了{name}的脸跟前。"),
         ("{name} stood very still, just as {his} {adult} had told {him}. The bee flew away to a flower, and soon "
          "{name} was watching the bees with a smile.",
          "{name}照{adult}说的那样，一动也不动。蜜蜂飞到一朵花上去了，很快{name}就笑着看起蜜蜂来了。"),
         ("{name} waved {his} arms and ran away, and {he} would not go near the flowers again.",
          "{name}挥着胳膊跑开了，说什么也不肯再靠近那些花了。")),
    Fear(("high bridges", "高高的桥"), ("river", "forest", "waterfall"),
         ("The only way across was a narrow wooden bridge, high above the rushing water.",
          "唯一的路是一座窄窄的木桥，高高地架在湍急的水流上。"),
         ("{name} held on to the rope, looked straight ahead, and walked across one slow step at a time. On the "
          "other side, {he} jumped for joy.",
          "{name}抓着绳子，眼睛看着前面，一步一步慢慢地走了过去。到了对岸，{he}高兴得跳了起来。"),
         ("{name} could not take a single step onto the bridge, so {they} had to turn around and go home.",
          "{name}一步也不敢踏上桥，{they}只好掉头回家了。")),
    Fear(("big waves", "大浪"), ("beach", "island"),
         ("The waves were big and noisy, and they crashed onto the sand.", "海浪又大又响，一下一下地拍打着沙滩。"),
         ("{name} held {his} {adult}'s hand, and together they jumped over the small waves at the edge. Soon {name} "
          "was laughing and splashing.", "{name}拉着{adult}的手，一起跳过了岸边的小浪花。很快，{name}就笑着玩起水来。"),
         ("{name} stayed far away from the water and built a sandcastle alone. {He} did not put even one toe in the "
          "sea.",
          "{name}离水远远的，一个人堆沙堡。{he}连一个脚趾头都没有放进海里。")),
)


def _brave(w: _Writer, happy: bool) -> None:
    fear = w.choice(FEARS)
    w.at(*fear.places)
    w.group("name", "adult")
    w.set("fear", *fear.what)
    w.day()
    _went_with_adult(w)
    w.view(0.5)
    w.say(fear.scene)
    w.say(("{name} was afraid of {fear}.",
           "{name}很怕{fear}。"), ("{name} had always been afraid of {fear}.", "{name}一直都很怕{fear}。"))
    w.maybe(0.6, ('"I am scared," {name} whispered.', "{name}小声说：“我害怕。”"),
            ("{name}'s knees were shaking, and {his} heart was beating fast.", "{name}的膝盖直发抖，心怦怦直跳。"))
    if happy:
        w.say(fear.brave)
        w.maybe(0.5, ("Being brave did not mean not being scared. It meant trying anyway.",
                      "勇敢并不是不害怕，而是害怕了也愿意试一试。"))
        w.end(happy, "proud", "happy", "calm")
    else:
        w.say(fear.scared)
        if "until morning" in fear.scared[0] or "home" in fear.scared[0]:
            w.went_home(later="until morning" in fear.scared[0])
        w.end(happy, "scared", "sad", "upset", "worried")
    w.ask(("What was {name} afraid of?", "{fear}"), ("{name}害怕什么？", "{fear}"))
    w.ask(*WHERE)


# contest | 中文 | places | practice | 练习 | what went wrong | 出了什么错
CONTESTS = _rows(_lexicon("contests"))

# prize | 中文 | measure word
PRIZES = _rows(_lexicon("prizes"))


def _contest(w: _Writer, happy: bool) -> None:
    contest_en, contest_zh, places, practice_en, practice_zh, oops_en, oops_zh = w.choice(CONTESTS)
    w.at(*places.split(","))
    w.set("contest", contest_en, contest_zh)
    w.set("a_contest", _a(contest_en), contest_zh)
    w.set("practice", practice_en, practice_zh)
    w.set("oops", oops_en, oops_zh)
    prize_en, prize_zh, prize_mw = w.choice(PRIZES)
    w.set("prize", prize_en, prize_zh)
    w.set("a_prize", _a(prize_en), f"一{prize_mw}{prize_zh}")
    w.say(("There was going to be {a_contest} {at_place} on {weekday}.", "{weekday}，{place}要举行一场{contest}。"))
    w.say(("The winner would get {a_prize}.", "获胜的人可以得到{a_prize}。"))
    w.say(("{name} wanted to win more than anything.",
           "{name}特别想赢。"), ("{name} really wanted to win.", "{name}非常想赢。"))
    w.say(("Every day, {he} practiced {practice}.", "每天，{he}都练习{practice}。"),
          ("{He} practiced {practice} every day after school.", "每天放学以后，{he}都练习{practice}。"))
    w.say(("{His} friend {friend} was going to be in the {contest} too.", "{his}朋友{friend}也要参加这场{contest}。"))
    w.day()
    w.say(("On the day of the {contest}, {name}'s heart was beating fast.", "比赛那天，{name}的心怦怦直跳。"))
    w.numeral(0.7, 1, 120, ("{name} was number {n} in the {contest}.", "{name}是这场{contest}的{n}号选手。"))
    w.view(0.4)
    w.maybe(0.6, ('"You can do it!" said {his} {adult}.', "{adult}说：“你一定行的！”"))
    if happy:
        w.say(("{name} did {his} very best.", "{name}尽了最大的努力。"))
        w.say(('At the end, the judge said, "The winner is {name}!"', "最后，裁判大声宣布：“获胜的是{name}！”"))
        w.say(("{name} got {a_prize}, and {friend} cheered for {him}.", "{name}得到了{a_prize}，{friend}为{him}欢呼。"))
        w.end(happy, "proud", "happy", "excited")
        winner: Variant = ("{name}", "{name}")
    else:
        w.say(("But in the middle of the {contest}, {oops}.", "可是比赛进行到一半，{oops}。"))
        w.say(("{friend} won the {contest}, and {name} did not win anything.",
               "{friend}赢得了这场{contest}，{name}什么也没得到。"))
        w.maybe(0.5, ("{name} clapped for {friend}, but {he} felt a lump in {his} throat.",
                      "{name}为{friend}鼓掌，可是喉咙里像堵了什么东西。"))
        w.end(happy, "disappointed", "sad", "upset")
        winner = ("{friend}", "{friend}")
    w.ask(("Who won the {contest}?", winner[0]), ("谁赢得了{contest}？", winner[1]))
    w.ask(("What was the prize?", "{prize}"), ("奖品是什么？", "{prize}"))
    w.ask(*WHERE)


# skill | 中文 | places | what went wrong the first time | 第一次出了什么错
SKILLS = _rows(_lexicon("skills"))


def _skill(w: _Writer, happy: bool) -> None:
    skill_en, skill_zh, places, oops_en, oops_zh = w.choice(SKILLS)
    w.at(*places.split(","))
    w.set("skill", skill_en, skill_zh)
    w.set("oops", oops_en, oops_zh)
    w.say(("{name} wanted to learn to {skill}.", "{name}很想学会{skill}。"),
          ("More than anything, {name} wished {he} could {skill}.", "{name}最大的愿望就是学会{skill}。"))
    w.say(('"I will teach you," said {his} {adult}.', "{adult}说：“我来教你。”"))
    w.day()
    w.say(("{name} and {his} {adult} went to the {place} to practice.", "{name}和{adult}一起去{place}练习。"))
    w.view(0.5)
    w.say(("The first time {name} tried, {oops}.", "{name}第一次试的时候，{oops}。"))
    w.say(('"Everyone finds it hard at first," said {his} {adult}. "Try again."',
           "{adult}说：“一开始谁都觉得难。再试一次吧。”"))
    w.say(("So {name} tried again, and again, and again.", "于是，{name}试了一次又一次。"))
    w.numeral(0.7, 10, 60, ("That day, {he} tried {n} times.", "那天，{he}一共试了{n}次。"))
    if happy:
        w.say(("At last, {name} could {skill} all by {himself}!", "终于，{name}自己也会{skill}了！"))
        w.say(('"I did it!" {he} shouted.', "{he}大喊：“我做到了！”"))
        w.end(happy, "proud", "happy", "excited")
    else:
        w.say(("But no matter how hard {he} tried, {he} still could not {skill}.",
               "可是不管{he}怎么努力，还是学不会{skill}。"))
        w.say(("In the end, {name} gave up and went home.", "最后，{name}放弃了，回了家。"))
        w.went_home()
        w.end(happy, "disappointed", "sad", "upset")
    w.ask(("What did {name} want to learn?", "{skill}"), ("{name}想学会什么？", "{skill}"))
    w.ask(("Who taught {name}?", "{his} {adult}"), ("谁教{name}？", "{adult}"))
    w.ask(*WHERE)


_SHAPES: dict[str, Callable[[_Writer, bool], None]] = {
    "friend": _friend, "lost": _lost, "trip": _trip, "problem": _problem, "quarrel": _quarrel, "party": _party,
    "helping": _helping, "brave": _brave, "contest": _contest, "skill": _skill,
}
SHAPES = tuple(_SHAPES)


# ---------------------------------------------------------------------------------------------------------------------
# The public API: stories, a corpus split into train/validation, and its cache.


@dataclass(frozen=True)
class Story:
    """One generated story, its Chinese version, its labels, and question/answer pairs about it."""

    id: int
    text: str
    text_zh: str
    shape: str
    main_character: str
    place: str
    happy_ending: bool
    lost_item: str | None
    qa: tuple[tuple[str, str], ...]
    qa_zh: tuple[tuple[str, str], ...]
    lines: tuple[tuple[str, str], ...]  # the story line by line, (English, Chinese): a parallel text


def generate_story(rng: random.Random, story_id: int) -> Story:
    """Write one story with choices drawn from ``rng``."""
    shape = rng.choice(SHAPES)
    happy = rng.random() < HAPPY_RATE
    w = _Writer(rng)
    w.cast()
    w.ask(("Who is the story about?", "{name}"), ("这个故事讲的是谁？", "{name}"))
    w.introduce()
    _SHAPES[shape](w, happy)
    return Story(id=story_id, text=" ".join(w.lines_en), text_zh="".join(w.lines_zh), shape=shape,
                 main_character=w.en["name"], place=w.place.en, happy_ending=happy, lost_item=w.lost_item,
                 qa=tuple(w.qa_en), qa_zh=tuple(w.qa_zh), lines=tuple(zip(w.lines_en, w.lines_zh, strict=True)))


def generate_stories(n: int, seed: int = 0) -> list[Story]:
    """``n`` stories with distinct texts, drawn from ``random.Random(seed)``: the same list on every machine."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    stories: list[Story] = []
    seen: set[str] = set()
    while len(stories) < n:
        story = generate_story(rng, len(stories))
        if story.text not in seen and story.text_zh not in seen:
            seen.update((story.text, story.text_zh))
            stories.append(story)
    return stories


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
LANGUAGES = ("en", "zh", "both")


@dataclass
class Corpus:
    """Stories split into training and validation sets, with no story (or identical text) in both."""

    train: list[Story]
    val: list[Story]

    def text(self, split: str = "train", language: str = "en") -> str:
        """All stories of ``split`` ("train" or "val") in ``language`` ("en", "zh", or "both": English line, then
        Chinese line), separated by a blank line."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
        pick = {"en": lambda s: s.text, "zh": lambda s: s.text_zh, "both": lambda s: f"{s.text}\n{s.text_zh}"}[language]
        return "\n\n".join(pick(story) for story in getattr(self, split))

    def stats(self) -> dict:
        """Size of the whole corpus: stories, English words and distinct words, characters and MB (10^6 bytes of
        UTF-8) in English and Chinese, distinct Chinese characters, and the share of happy endings."""
        stories = self.train + self.val
        en = "\n\n".join(s.text for s in stories)
        zh = "\n\n".join(s.text_zh for s in stories)
        words = _WORD.findall(en.lower())
        return {
            "stories": len(stories), "train_stories": len(self.train), "val_stories": len(self.val),
            "en_words": len(words), "en_distinct_words": len(set(words)),
            "en_chars": len(en), "en_mb": round(len(en.encode()) / 1e6, 3),
            "zh_chars": len(zh), "zh_distinct_chars": len({c for c in zh if "\u4e00" <= c <= "\u9fff"}),
            "zh_mb": round(len(zh.encode()) / 1e6, 3),
            "happy_fraction": round(sum(s.happy_ending for s in stories) / max(len(stories), 1), 3),
        }


def cache_path(folder: str | Path, n_stories: int, seed: int) -> Path:
    """Where :func:`load_corpus` keeps a generated corpus; the name changes with :data:`GENERATOR_VERSION`."""
    return Path(folder) / f"corpus-v{GENERATOR_VERSION}-seed{seed}-n{n_stories}.jsonl"


def load_corpus(n_stories: int = DEFAULT_STORIES, seed: int = 0, val_fraction: float = 0.05,
                cache_dir: str | Path | None = None) -> Corpus:
    """The corpus of ``n_stories`` stories for ``seed``, read from the cache folder or generated and cached there.

    The last ``round(n_stories * val_fraction)`` stories (at least one if ``val_fraction > 0``) are the
    validation set. ``cache_dir`` defaults to :func:`llama_course.sources.cache_dir`.
    """
    if isinstance(n_stories, bool) or not isinstance(n_stories, int):
        raise TypeError(f"n_stories must be an int, got {type(n_stories).__name__}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = max(1, round(n_stories * val_fraction)) if val_fraction > 0 else 0
    if n_stories - n_val < 1:
        raise ValueError(f"n_stories={n_stories} is too few to keep a training set with val_fraction={val_fraction}")
    from .sources import cache_dir as default_cache_dir

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_path(folder, n_stories, seed)
    stories = _read_cache(path)
    if stories is None:
        stories = generate_stories(n_stories, seed)
        folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in stories)
        atomic_write(path, lambda tmp: Path(tmp).write_text(lines, encoding="utf-8"))
    return Corpus(train=stories[: n_stories - n_val], val=stories[n_stories - n_val:])


def _read_cache(path: Path) -> list[Story] | None:
    """The cached stories, or None when there is no cache or it is unreadable (then it is made again)."""
    if not path.exists():
        return None
    try:
        with path.open(encoding="utf-8") as f:
            return [_story_from_json(line) for line in f]
    except (ValueError, TypeError, KeyError):  # a damaged cache file costs a regeneration, nothing more
        return None


def _story_from_json(line: str) -> Story:
    fields = json.loads(line)
    for key in ("qa", "qa_zh", "lines"):
        fields[key] = tuple(tuple(pair) for pair in fields[key])
    return Story(**fields)
