"""A problem to solve: six variants (a kite in a tree, a broken toy, a ball over a fence...)."""

from __future__ import annotations

from ..writer import Writer
from .common import PLAY_PLACES, WHERE


def _kite_in_tree(w: Writer, happy: bool) -> None:
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


def _broken_toy(w: Writer, happy: bool) -> None:
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


def _ball_over_fence(w: Writer, happy: bool) -> None:
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


def _thirsty_garden(w: Writer, happy: bool) -> None:
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


def _leaky_boat(w: Writer, happy: bool) -> None:
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


def _lost_the_way(w: Writer, happy: bool) -> None:
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


def write(w: Writer, happy: bool) -> None:
    w.choice((_kite_in_tree, _broken_toy, _ball_over_fence, _thirsty_garden, _leaky_boat, _lost_the_way))(w, happy)
    w.ask(*WHERE)
