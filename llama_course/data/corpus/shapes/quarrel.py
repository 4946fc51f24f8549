"""A quarrel between friends, made up (or not)."""

from __future__ import annotations

from ..writer import Writer
from .common import PLAY_PLACES


def write(w: Writer, happy: bool) -> None:
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
