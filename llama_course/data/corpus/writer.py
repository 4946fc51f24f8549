"""The writer: template fields and sentences for both languages, filled from the same random choices."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from .lexicon import (
    ADULTS,
    AGES,
    ANIMAL_ADJECTIVES_FOR,
    ANIMALS,
    BREAKFASTS,
    CLOTHES,
    DAY_PARTS,
    FEELINGS,
    FOODS,
    HABITS,
    HOBBIES,
    HOMES,
    NAMES,
    OBJECT_ADJECTIVES,
    OBJECTS,
    PET_NAMES,
    PETS,
    PLACE_NUMBERS,
    PLACE_VIEWS,
    PLACES,
    TRAITS,
    WEATHER,
    WEATHER_LINES,
    WEEKDAYS,
    a_an,
    zh_color,
)

DIGIT_RATE = 0.3  # the share of stories that may write numbers in digits ("8 years old", "8岁")
T = TypeVar("T")

Variant = tuple[str, str]  # (English template, Chinese template); both use the same {fields}
PRONOUNS = {"m": ("he", "him", "his", "himself", "他"), "f": ("she", "her", "her", "herself", "她")}
# the hours that suit a time of day (written in digits: "at 3 o'clock", "下午3点")
HOURS = {"morning": (7, 11), "afternoon": (1, 5), "evening": (6, 8)}
# feelings whose plain Chinese form needs an object (觉得很感激 what?): how to say "felt ..." without one
FEEL_ZH = {"grateful": "心里充满了感激"}


class Writer:
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
        he, him, his, himself, ta = PRONOUNS[gender]
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
        self.set("a_trait", a_an(trait_en), trait_zh)
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
        self.set("a_pet", a_an(pet_en), pet_zh)
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
            self.set("a_animal", a_an(f"{adj_en} {animal.en}"), f"一{animal.mw}{adj_zh}{animal.zh}")
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
        self.set("a_weather", a_an(wx_en), wx_zh)
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
            adj_zh = zh_color(adj_en, adj_zh, zh)
            en, zh = f"{adj_en} {en}", adj_zh + zh
        own = "" if adj_zh.endswith("的") else "的"  # 她闪亮的钥匙, but 她的红球
        self.set("item", en, zh)
        self.set("a_item", a_an(en), f"一{mw}{zh}")
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


