"""A trip somewhere and the journey home."""

from __future__ import annotations

from ..lexicon import table
from ..writer import Variant, Writer
from .common import WHERE

ON_THE_WAY = table("on_the_way")

# how | 中文 | the vehicle, if one carries the travelers ("-" on foot or by bike) | 中文
TRANSPORT = table("transport")
BOATS = table("boats")

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


def write(w: Writer, happy: bool) -> None:
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
