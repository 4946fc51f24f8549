"""Meeting someone new and making (or not making) a friend."""

from __future__ import annotations

from ..lexicon import table
from ..writer import Writer
from .common import WHERE, went_with_adult

FEATURES = table("features")


def write(w: Writer, happy: bool) -> None:
    w.at("park", "beach", "playground", "zoo", "library", "lake", "pond", "swimming pool", "meadow", "fair", "school",
         "ice rink", "campsite", "village", "museum")
    w.day()
    went_with_adult(w)
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
