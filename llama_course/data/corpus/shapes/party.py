"""A birthday party."""

from __future__ import annotations

from ..lexicon import CAKES, NAMES, OBJECT_ADJECTIVES, a_an, table, zh_color
from ..writer import Variant, Writer

GAMES = table("games")


def write(w: Writer, happy: bool) -> None:
    w.at("garden", "park", "beach", "meadow", "playground", "farm", "lake")
    guests = [row for row in NAMES if row[0] not in (w.en["name"], w.en["friend"]) and row[1] not in
              (w.zh["name"], w.zh["friend"])]
    for key, (en, zh, _) in zip(("guest2", "guest3"), w.rng.sample(guests, 2), strict=True):
        w.set(key, en, zh)
    cake_en, cake_zh = w.choice(CAKES)
    w.set("cake", cake_en, cake_zh)
    w.set("a_cake", a_an(f"{cake_en} cake"), f"一个{cake_zh}蛋糕")
    color_en, color_zh = w.choice(OBJECT_ADJECTIVES["color"])
    w.set("color", color_en, zh_color(color_en, color_zh, "气球"))
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
