"""Being brave about a fear."""

from __future__ import annotations

from typing import NamedTuple

from ..writer import Variant, Writer
from .common import WHERE, went_with_adult


class Fear(NamedTuple):
    """Something to be afraid of: what, where, the scene, and how being brave (or not) turns out."""

    what: Variant
    places: tuple[str, ...]
    scene: Variant
    brave: Variant
    scared: Variant


FEARS = (
    Fear(("the dark", "黑"), ("campsite", "forest"),
         ("When night came, it was very dark, and strange sounds came from the trees.",
          "天黑了，四周黑漆漆的，树林里传来了奇怪的声音。"),
         ('{name} took a deep breath and switched on {his} flashlight. The strange sound was only an owl saying '
          '"hoo, hoo."',
          "{name}深深地吸了一口气，打开了手电筒。原来那奇怪的声音只是一只猫头鹰在“咕咕”地叫。"),
         ("{name} hid under {his} blanket and did not come out until morning.",
          "{name}躲在毯子里，一直到天亮都不敢出来。")),
    Fear(("thunder", "打雷"), ("campsite", "farm", "village"),
         ("In the evening a big storm came, and the thunder was so loud that the ground seemed to shake.",
          "傍晚来了一场大暴风雨，雷声大得好像连地面都在晃。"),
         ('{His} {adult} held {his} hand and said, "Thunder is only a noise. It cannot hurt you." {name} counted '
          "slowly after each flash, and soon {he} was not afraid anymore.",
          "{adult}握着{his}手说：“打雷只是一种声音，它伤不到你。”每次闪电以后，{name}都慢慢地数数，很快{he}就不害怕了。"),
         ("{name} covered {his} ears and cried until the storm was over.", "{name}捂着耳朵，一直哭到暴风雨停了。")),
    Fear(("big dogs", "大狗"), ("park", "village", "farm"),
         ("On the path there was a big black dog, and it barked loudly.", "小路上有一只大黑狗，它汪汪地叫得很响。"),
         ("{name} stood very still and held out {his} hand. The dog sniffed it and wagged its tail. It was friendly "
          "after all!", "{name}一动不动地站着，伸出了手。大狗闻了闻，摇起了尾巴。原来它很友好！"),
         ("{name} turned around and ran all the way home, and {he} did not go back to the {place} for a long time.",
          "{name}转身一路跑回了家，很长时间都不敢再去{place}了。")),
    Fear(("deep water", "深水"), ("lake", "swimming pool", "river"),
         ("Everyone jumped into the water, but {name} stayed on the edge.", "大家都跳进了水里，{name}却站在边上不动。"),
         ('{His} {adult} held out both hands and said, "I will not let go." {name} slid into the water, kicked {his} '
          "legs, and laughed. It was fun!",
          "{adult}伸出双手说：“我不会松手的。”{name}滑进水里，蹬了蹬腿，笑了起来。真好玩！"),
         ("{name} sat on the edge for a long time and watched the others swim.",
          "{name}在边上坐了很久，看着别人游泳。")),
    Fear(("tall slides", "高高的滑梯"), ("playground", "park", "swimming pool"),
         ("There was a new slide there, and it was taller than a house.", "那里有一个新滑梯，比房子还高。"),
         ("{name} climbed up slowly, one step at a time. At the top, {he} closed {his} eyes, and whoosh! Down {he} "
          "went, faster and faster.",
          "{name}一级一级慢慢地爬了上去。到了顶上，{he}闭上眼睛，嗖的一下滑了下去，越滑越快。"),
         ("{name} climbed halfway up, but then {he} climbed back down again. {He} watched the other children slide and "
          "wished {he} were braver.", "{name}爬到一半，又爬了下来。{he}看着别的孩子滑下来，真希望自己能勇敢一点。")),
    Fear(("spiders", "蜘蛛"), ("garden", "farm", "forest", "castle"),
         ("A big spider was sitting in the middle of its web, right in front of {name}.",
          "一只大蜘蛛正趴在网中间，就在{name}面前。"),
         ("{name} looked closely and saw tiny drops of dew shining on the web. The spider was busy, not scary.",
          "{name}凑近一看，小小的露珠在蛛网上闪闪发光。蜘蛛只是在忙自己的事，一点也不可怕。"),
         ("{name} screamed and ran away, and {he} did not go near that corner again.",
          "{name}尖叫一声跑开了，再也不敢靠近那个角落。")),
    Fear(("bees", "蜜蜂"), ("garden", "meadow", "orchard"),
         ("Bees were buzzing all around the flowers, and one flew very close to {name}'s face.",
          "蜜蜂在花丛里嗡嗡地飞来飞去，有一只飞到了{name}的脸跟前。"),
         ("{name} stood very still, just as {his} {adult} had told {him}. The bee flew away to a flower, and soon "
          "{name} was watching the bees with a smile.",
          "{name}照{adult}说的那样，一动也不动。蜜蜂飞到一朵花上去了，很快{name}就笑着看起蜜蜂来了。"),
         ("{name} waved {his} arms and ran away, and {he} would not go near the flowers again.",
          "{name}挥着胳膊跑开了，说什么也不肯再靠近那些花了。")),
    Fear(("high bridges", "高高的桥"), ("river", "forest", "waterfall"),
         ("The only way across was a narrow wooden bridge, high above the rushing water.",
          "唯一的路是一座窄窄的木桥，高高地架在湍急的水流上。"),
         ("{name} held on to the rope, looked straight ahead, and walked across one slow step at a time. On the "
          "other side, {he} jumped for joy.",
          "{name}抓着绳子，眼睛看着前面，一步一步慢慢地走了过去。到了对岸，{he}高兴得跳了起来。"),
         ("{name} could not take a single step onto the bridge, so {they} had to turn around and go home.",
          "{name}一步也不敢踏上桥，{they}只好掉头回家了。")),
    Fear(("big waves", "大浪"), ("beach", "island"),
         ("The waves were big and noisy, and they crashed onto the sand.", "海浪又大又响，一下一下地拍打着沙滩。"),
         ("{name} held {his} {adult}'s hand, and together they jumped over the small waves at the edge. Soon {name} "
          "was laughing and splashing.", "{name}拉着{adult}的手，一起跳过了岸边的小浪花。很快，{name}就笑着玩起水来。"),
         ("{name} stayed far away from the water and built a sandcastle alone. {He} did not put even one toe in the "
          "sea.",
          "{name}离水远远的，一个人堆沙堡。{he}连一个脚趾头都没有放进海里。")),
)


def write(w: Writer, happy: bool) -> None:
    fear = w.choice(FEARS)
    w.at(*fear.places)
    w.group("name", "adult")
    w.set("fear", *fear.what)
    w.day()
    went_with_adult(w)
    w.view(0.5)
    w.say(fear.scene)
    w.say(("{name} was afraid of {fear}.",
           "{name}很怕{fear}。"), ("{name} had always been afraid of {fear}.", "{name}一直都很怕{fear}。"))
    w.maybe(0.6, ('"I am scared," {name} whispered.', "{name}小声说：“我害怕。”"),
            ("{name}'s knees were shaking, and {his} heart was beating fast.", "{name}的膝盖直发抖，心怦怦直跳。"))
    if happy:
        w.say(fear.brave)
        w.maybe(0.5, ("Being brave did not mean not being scared. It meant trying anyway.",
                      "勇敢并不是不害怕，而是害怕了也愿意试一试。"))
        w.end(happy, "proud", "happy", "calm")
    else:
        w.say(fear.scared)
        if "until morning" in fear.scared[0] or "home" in fear.scared[0]:
            w.went_home(later="until morning" in fear.scared[0])
        w.end(happy, "scared", "sad", "upset", "worried")
    w.ask(("What was {name} afraid of?", "{fear}"), ("{name}害怕什么？", "{fear}"))
    w.ask(*WHERE)
