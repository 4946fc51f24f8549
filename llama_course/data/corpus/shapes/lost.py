"""Losing something, looking for it with a friend, and finding it (or not)."""

from __future__ import annotations

from ..lexicon import SPOTS
from ..writer import Writer
from .common import WHERE


def write(w: Writer, happy: bool) -> None:
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
