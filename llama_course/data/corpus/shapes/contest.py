"""Taking part in a contest."""

from __future__ import annotations

from ..lexicon import a_an, table
from ..writer import Variant, Writer
from .common import WHERE

# contest | 中文 | places | practice | 练习 | what went wrong | 出了什么错
CONTESTS = table("contests")

# prize | 中文 | measure word
PRIZES = table("prizes")


def write(w: Writer, happy: bool) -> None:
    contest_en, contest_zh, places, practice_en, practice_zh, oops_en, oops_zh = w.choice(CONTESTS)
    w.at(*places.split(","))
    w.set("contest", contest_en, contest_zh)
    w.set("a_contest", a_an(contest_en), contest_zh)
    w.set("practice", practice_en, practice_zh)
    w.set("oops", oops_en, oops_zh)
    prize_en, prize_zh, prize_mw = w.choice(PRIZES)
    w.set("prize", prize_en, prize_zh)
    w.set("a_prize", a_an(prize_en), f"一{prize_mw}{prize_zh}")
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
