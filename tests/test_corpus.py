import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import asdict

import pytest

from llama_course.data import corpus
from llama_course.data.corpus import lexicon

SENTENCE_END = re.compile(r'(?<=[.!?])"?\s+(?=["A-Z])')
A_AN_EXCEPTIONS = {"unicorn", "ukulele", "one", "useful", "uniform", "european", "honest", "hour", "honor"}


def sentences(text):
    return [part.strip() for part in SENTENCE_END.split(text)]


@pytest.fixture(scope="module")
def sample():
    """3000 stories, generated once for the tests that read them (not at import time)."""
    return corpus.generate_stories(3000, seed=7)


@pytest.fixture(scope="module")
def default_corpus(tmp_path_factory):
    return corpus.load_corpus(cache_dir=tmp_path_factory.mktemp("cache"))


def test_same_seed_same_stories_and_other_seed_differs(sample):
    again = corpus.generate_stories(3000, seed=7)
    assert again == sample
    assert corpus.generate_stories(50, seed=8) != sample[:50]
    assert corpus.generate_story(random.Random(3), 0) == corpus.generate_story(random.Random(3), 0)


def test_the_default_corpus_is_pinned():
    """The shipped tokenizer and course model were made from exactly these stories: a change to the lexicons or
    the writer that changes them must bump GENERATOR_VERSION and remake both (see the README)."""
    stories = corpus.generate_stories(corpus.DEFAULT_STORIES, seed=0)
    text = json.dumps([asdict(s) for s in stories], ensure_ascii=False, sort_keys=True)
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "4658e936bb77fc129bac9ccc57fc25d0d70a4bf342c3fcae38d6a41262bdf4fa"), "the generated corpus changed"


def test_generation_does_not_touch_the_global_random_state():
    random.seed(123)
    expected = random.random()
    random.seed(123)
    corpus.generate_stories(20)
    assert random.random() == expected


def test_default_corpus_size_and_vocabulary(default_corpus):
    stats = default_corpus.stats()
    assert stats["stories"] == corpus.DEFAULT_STORIES
    assert 2.0 < stats["en_mb"] < 4.0 and stats["zh_mb"] > 1.0
    assert stats["en_distinct_words"] > 1500
    assert stats["zh_distinct_chars"] > 1000


def test_a_and_an_agree_with_the_next_word(sample):
    for story in sample:
        for article, word in re.findall(r"\b([Aa]n?) ([A-Za-z]+)", story.text):
            vowel_sound = word[0].lower() in "aeiou"
            if word.lower() in A_AN_EXCEPTIONS:
                vowel_sound = not vowel_sound
            assert (article.lower() == "an") == vowel_sound, f"{article} {word!r} in story {story.id}: {story.text}"


def test_main_character_pronouns_match_gender(sample):
    checked = 0
    for story in sample:
        name = story.main_character
        first = sentences(story.text)[0]
        gender = re.search(r"\b(boy|girl)\b", first)
        assert gender and name in first, first
        he = "He" if gender.group(1) == "boy" else "She"
        parts = sentences(story.text)
        for this, following in zip(parts, parts[1:], strict=False):
            if this.startswith(name + " ") and following.split()[0] in ("He", "She"):
                assert following.split()[0] == he, f"{this} {following}"
                checked += 1
    assert checked > 1000


def test_labels_and_answers_are_in_the_text(sample):
    for story in sample:
        assert story.main_character in story.text
        assert f"the {story.place}" in story.text
        if story.lost_item is not None:
            assert story.shape == "lost" and story.lost_item in story.text
        for qa, text in ((story.qa, story.text), (story.qa_zh, story.text_zh)):
            assert len(qa) >= 4
            for question, answer in qa:
                assert answer in text, f"{question} -> {answer!r} not in story {story.id}: {text}"
        for _, answer in story.qa:
            assert 1 <= len(answer.split()) <= 3, answer
    assert {q for q, _ in sample[0].qa} >= {"Who is the story about?"}


def test_the_ending_is_expressed_in_the_text(sample):
    happy_words = {row[0] for row in lexicon.FEELINGS[True]}
    sad_words = {row[0] for row in lexicon.FEELINGS[False]}
    for story in sample:
        feeling = dict(story.qa)[f"How did {story.main_character} feel at the end?"]
        assert feeling in (happy_words if story.happy_ending else sad_words)
        assert feeling in sentences(story.text)[-1] or feeling in sentences(story.text)[-2]


def test_label_distribution(sample):
    happy = sum(story.happy_ending for story in sample) / len(sample)
    assert 0.6 < happy < 0.8
    shapes = Counter(story.shape for story in sample)
    assert set(shapes) == set(corpus.SHAPES) and len(corpus.SHAPES) >= 8
    assert min(shapes.values()) > len(sample) / len(corpus.SHAPES) / 2
    assert {s.happy_ending for s in sample if s.shape == "lost"} == {True, False}
    assert len({s.main_character for s in sample}) > 100 and len({s.place for s in sample}) > 25


def test_chinese_text_is_chinese(sample):
    for story in sample[:300]:
        han = sum("\u4e00" <= c <= "\u9fff" for c in story.text_zh)
        assert han / len(story.text_zh) > 0.75, story.text_zh
        assert not re.search(r"[A-Za-z]", story.text_zh), story.text_zh
        assert story.text_zh.endswith(("。", "！", "”"))


def test_stories_are_distinct(sample):
    assert len({s.text for s in sample}) == len(sample)
    assert len({s.text_zh for s in sample}) == len(sample)
    assert [s.id for s in sample] == list(range(len(sample)))


def test_colliding_stories_are_generated_again(monkeypatch):
    real = corpus.generate_story
    calls = []

    def collide(rng, story_id):  # every other call repeats the first story
        calls.append(story_id)
        return real(random.Random(0), story_id) if len(calls) % 2 else real(rng, story_id)

    monkeypatch.setattr(corpus, "generate_story", collide)
    stories = corpus.generate_stories(5)
    assert len({s.text for s in stories}) == 5 and [s.id for s in stories] == list(range(5))
    assert len(calls) > 5


def test_split_has_no_overlap_and_text_joins_stories(tmp_path):
    data = corpus.load_corpus(200, seed=1, val_fraction=0.1, cache_dir=tmp_path)
    assert (len(data.train), len(data.val)) == (180, 20)
    assert not {s.text for s in data.train} & {s.text for s in data.val}
    assert not {s.id for s in data.train} & {s.id for s in data.val}
    assert data.text("val").split("\n\n") == [s.text for s in data.val]
    assert data.text("val", "zh").split("\n\n") == [s.text_zh for s in data.val]
    assert data.text("val", "both").split("\n\n")[0] == f"{data.val[0].text}\n{data.val[0].text_zh}"
    with pytest.raises(ValueError, match="split"):
        data.text("test")
    with pytest.raises(ValueError, match="language"):
        data.text("train", "fr")
    with pytest.raises(ValueError, match="val_fraction"):
        corpus.load_corpus(10, val_fraction=1.0, cache_dir=tmp_path)


def test_cache_round_trip(tmp_path):
    first = corpus.load_corpus(50, seed=3, cache_dir=tmp_path)
    path = corpus.cache_path(tmp_path, 50, 3)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["id"] == 0
    assert corpus.load_corpus(50, seed=3, cache_dir=tmp_path) == first
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[0]) | {"text": "Edited."}
    path.write_text("\n".join([json.dumps(edited, ensure_ascii=False)] + lines[1:]) + "\n", encoding="utf-8")
    assert corpus.load_corpus(50, seed=3, cache_dir=tmp_path).train[0].text == "Edited."  # read, not regenerated


def test_cache_is_invalidated_by_a_new_generator_version(tmp_path, monkeypatch):
    corpus.load_corpus(30, cache_dir=tmp_path)
    monkeypatch.setattr(corpus, "GENERATOR_VERSION", corpus.GENERATOR_VERSION + 1)
    corpus.load_corpus(30, cache_dir=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"corpus-v{corpus.GENERATOR_VERSION - 1}-seed0-n30.jsonl",
                     f"corpus-v{corpus.GENERATOR_VERSION}-seed0-n30.jsonl"]


def test_cache_defaults_to_the_course_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LLAMA_COURSE_CACHE", str(tmp_path))
    corpus.load_corpus(10)
    assert corpus.cache_path(tmp_path, 10, 0).exists()


def test_a_damaged_cache_is_regenerated(tmp_path):
    first = corpus.load_corpus(n_stories=20, cache_dir=tmp_path)
    path = corpus.cache_path(tmp_path, 20, 0)
    path.write_text('{"id": 0, "text": "cut off', encoding="utf-8")
    again = corpus.load_corpus(n_stories=20, cache_dir=tmp_path)
    assert again.train == first.train and again.val == first.val
    assert corpus._read_cache(path) == first.train + first.val, "the cache was written again"


# Regression scans over the default corpus (4000 stories): each looks for one kind of mistake a reviewer found.


@pytest.fixture(scope="module")
def stories(default_corpus):
    return default_corpus.train + default_corpus.val


def offenders(stories, pattern, field="text"):
    found = [story.id for story in stories if re.search(pattern, getattr(story, field))]
    return found[:10]


def test_place_activities_suit_one_child_alone(stories):
    for place in lexicon.PLACES.values():
        for en, zh in place.activities:
            assert not re.search(r"\b(their|our|each other|together|held hands)\b", en), (place.en, en)
            assert not re.search("手拉着手|一起|互相", zh), (place.en, zh)
    assert not offenders(stories, r"\b(?:He|She) [^.!?]*\b(?:floated on their|held hands|each other)\b")


def test_the_ending_follows_story_time(stories):
    home = (r"(?:next morning|next day|until morning|went home|had to go home|go home early|carried them home|"
            r"ran all the way home|walked home|rode home|on the way home|On the walk home)")
    assert not offenders(stories, home + r".*(?:smiled all the way home|When \w+ got home)")
    assert not offenders(stories, r"(?:next morning|next day|until morning|That night).*That night")
    assert not offenders(stories, r"That night.*all the way home")


def test_the_way_home_fits_the_transport(stories):
    assert not offenders(stories, r"\b(?:by bike|on foot)\b.*(?:fell asleep|window all the way home|sat quietly)")
    assert not offenders(stories, r"\bby (?:bus|train|car|tram|taxi|boat|ferry)\b.*(?:On the walk home|rode home)")


def test_a_fear_is_not_both_new_and_old(stories):
    assert not offenders(stories, r"always been afraid of the (?:big dog|tall slide|high bridge|big waves)")
    assert not offenders(stories, "怕黑暗", "text_zh")


def test_nobody_knocks_at_a_door_behind_a_locked_gate(stories):
    assert not offenders(stories, r"knocked.*gate was locked")


def test_animal_adjectives_suit_the_animal(stories):
    not_furry = "octopus|crab|frog|fish|turtle|snail|starfish|shark|dolphin|whale|bee|ladybug|butterfly|seal|hedgehog"
    assert not offenders(stories, rf"\bfluffy (?:{not_furry})\b")
    assert not offenders(stories, r"\b(?:fat|noisy) (?:crab|starfish|snail|bee|ladybug|butterfly|octopus|fish)\b")
    assert not offenders(stories, r"\btiny (?:elephant|giraffe|whale|horse|cow|bear|lion|tiger|shark)\b")
    not_furry_zh = "青蛙|章鱼|螃蟹|鱼|乌龟|蜗牛|海星|鲨鱼|海豚|鲸鱼|蜜蜂|瓢虫|蝴蝶"
    assert not offenders(stories, f"毛茸茸的(?:{not_furry_zh})", "text_zh")
    assert not offenders(stories, "老老[虎鼠鹰]|小(?:小的)?小[鹿马羊]|大大象|[大小]小[马羊鹿]",
                         "text_zh")  # 老+老虎, 小+小鹿


def test_in_the_end_is_said_once(stories):
    assert not [s.id for s in stories if s.text.count("In the end") > 1 or s.text_zh.count("最后，") > 1][:10]


def test_other_children_are_introduced_before_they_act(stories):
    names = {row[0] for row in lexicon.NAMES}
    bad = []
    for story in stories:
        for name in {n for n in re.findall(r"\b[A-Z][a-z]+\b", story.text) if n in names} - {story.main_character}:
            first = re.search(rf"\b{name}\b", story.text).start()
            before, around = story.text[max(0, first - 20):first], story.text[max(0, first - 60):first + 30]
            if not (before.endswith(("friend ", '"I am ', "My name is ")) or "invited" in around):
                bad.append((story.id, around))
    assert not bad[:10]


def test_no_daytime_scene_in_the_evening(stories):
    assert not offenders(stories, r"\bsunny (?:\w+ )?evening")
    assert not offenders(stories, r"evening\. (?:It was a perfect day|The sun was shining|The whole town seemed)")


def test_chinese_word_choices(stories):
    assert not offenders(stories, "吃了[^，。]*(?:豆浆|牛奶)", "text_zh")  # 喝 for drinks
    assert not offenders(stories, "觉得很感激|怀着.*心情", "text_zh")
    nouns = "|".join(zh for _, zh, _, _ in lexicon.OBJECTS if len(zh) > 1)
    assert not offenders(stories, f"[红蓝绿黄白黑](?:{nouns})", "text_zh")  # 黄色的玩具船, not 黄玩具船


def test_quarrels_say_the_same_in_both_languages(stories):
    quarrels = [s for s in stories if s.shape == "quarrel"]
    assert quarrels and not offenders(quarrels, "it is mine") and not offenders(quarrels, "不，是我的", "text_zh")
    assert all("不，该轮到我了" in s.text_zh and "No, it is my turn!" in s.text for s in quarrels)


def test_questions_name_the_same_people_in_both_languages(stories):
    names = sorted(((en, zh) for en, zh, _ in lexicon.NAMES), key=lambda pair: -len(pair[1]))
    english_names = {en for en, _ in names}
    for story in stories:
        for (question, _), (question_zh, _) in zip(story.qa, story.qa_zh, strict=True):
            named = {n for n in re.findall(r"\b[A-Z][a-z]+\b", question) if n in english_names}
            named_zh = set()
            for en, zh in names:  # longest first: 丹尼尔 is not 丹尼
                if zh in question_zh:
                    named_zh.add(en)
                    question_zh = question_zh.replace(zh, "|")
            assert named == named_zh, (story.id, question, question_zh)
            assert re.search(r"\bthey\b", question, re.I) or not re.search("[他她]们", question_zh), question_zh


def test_some_stories_write_numbers_in_digits(stories):
    with_digits = [s for s in stories if re.search(r"\d", s.text)]
    assert 0.15 < len(with_digits) / len(stories) < 0.35
    digits = Counter(re.findall(r"\d", "".join(s.text for s in with_digits)))
    assert set(digits) == set("0123456789") and min(digits.values()) > 100, digits
    for story in with_digits:
        numbers = sorted(re.findall(r"\d+", story.text))
        assert numbers == sorted(re.findall(r"\d+", story.text_zh)), story.id
        assert all(1 <= len(n) <= 3 for n in numbers), numbers


def test_lines_are_a_parallel_text_of_the_story():
    for story in corpus.generate_stories(30, seed=3):
        assert " ".join(en for en, _ in story.lines) == story.text
        assert "".join(zh for _, zh in story.lines) == story.text_zh
        assert all(en and zh for en, zh in story.lines)
