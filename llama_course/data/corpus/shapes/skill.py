"""Learning a new skill."""

from __future__ import annotations

from ..lexicon import table
from ..writer import Writer
from .common import WHERE

# skill | 中文 | places | what went wrong the first time | 第一次出了什么错
SKILLS = table("skills")


def write(w: Writer, happy: bool) -> None:
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
