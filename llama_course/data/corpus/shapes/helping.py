"""Helping someone who needs it."""

from __future__ import annotations

from typing import NamedTuple

from ..lexicon import PET_NAMES
from ..writer import Variant, Writer
from .common import WHERE, went_with_adult


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


def write(w: Writer, happy: bool) -> None:
    need = w.choice([n for n in NEEDS if happy or n.sad])
    w.at(*need.places)
    w.set("who", *need.who)
    w.set("dog", *w.choice(PET_NAMES))
    w.day()
    went_with_adult(w)
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
        sad = need.sad
        assert sad is not None, "an unhappy story chooses only a need with a sad ending"
        w.say(sad)
        if "next morning" in sad[0] or "go home" in sad[0]:
            w.went_home(later="next morning" in sad[0])
        w.end(happy, "sad", "upset", "worried")
    w.ask(("Who needed help?", "{who}"), ("谁需要帮助？", "{who}"))
    w.ask(*WHERE)
