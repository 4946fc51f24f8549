"""The course's built-in corpus: short children's stories in simple English, each with a parallel Chinese version.

Stories are generated offline and deterministically from lexicons (every word with its Chinese translation,
and a measure word for every noun) and sentence templates written in both languages, so the Chinese text
follows the same choices as the English one; nothing is machine-translated. Each story carries labels and
question/answer pairs that the fine-tuning lessons use.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ...config import is_whole
from ...files import atomic_write
from .shapes import SHAPES, WRITERS
from .writer import Writer

GENERATOR_VERSION = 3  # bump whenever the generator's output changes: it names the cache file
# (v3 added Story.lines; the texts are those of v2)
DEFAULT_STORIES = 4000  # about 3 MB of English and 3 MB of Chinese (UTF-8)
HAPPY_RATE = 0.7


@dataclass(frozen=True)
class Story:
    """One generated story, its Chinese version, its labels, and question/answer pairs about it."""

    id: int
    text: str
    text_zh: str
    shape: str
    main_character: str
    place: str
    happy_ending: bool
    lost_item: str | None
    qa: tuple[tuple[str, str], ...]
    qa_zh: tuple[tuple[str, str], ...]
    lines: tuple[tuple[str, str], ...]  # the story line by line, (English, Chinese): a parallel text


def generate_story(rng: random.Random, story_id: int) -> Story:
    """Write one story with choices drawn from ``rng``."""
    shape = rng.choice(SHAPES)
    happy = rng.random() < HAPPY_RATE
    w = Writer(rng)
    w.cast()
    w.ask(("Who is the story about?", "{name}"), ("这个故事讲的是谁？", "{name}"))
    w.introduce()
    WRITERS[shape](w, happy)
    return Story(id=story_id, text=" ".join(w.lines_en), text_zh="".join(w.lines_zh), shape=shape,
                 main_character=w.en["name"], place=w.place.en, happy_ending=happy, lost_item=w.lost_item,
                 qa=tuple(w.qa_en), qa_zh=tuple(w.qa_zh), lines=tuple(zip(w.lines_en, w.lines_zh, strict=True)))


def generate_stories(n: int, seed: int = 0) -> list[Story]:
    """``n`` stories with distinct texts, drawn from ``random.Random(seed)``: the same list on every machine."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    stories: list[Story] = []
    seen: set[str] = set()
    while len(stories) < n:
        story = generate_story(rng, len(stories))
        if story.text not in seen and story.text_zh not in seen:
            seen.update((story.text, story.text_zh))
            stories.append(story)
    return stories


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
LANGUAGES = ("en", "zh", "both")


@dataclass
class Corpus:
    """Stories split into training and validation sets, with no story (or identical text) in both."""

    train: list[Story]
    val: list[Story]

    def text(self, split: str = "train", language: str = "en") -> str:
        """All stories of ``split`` ("train" or "val") in ``language`` ("en", "zh", or "both": English line, then
        Chinese line), separated by a blank line."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
        pick = {"en": lambda s: s.text, "zh": lambda s: s.text_zh, "both": lambda s: f"{s.text}\n{s.text_zh}"}[language]
        return "\n\n".join(pick(story) for story in getattr(self, split))

    def stats(self) -> dict:
        """Size of the whole corpus: stories, English words and distinct words, characters and MB (10^6 bytes of
        UTF-8) in English and Chinese, distinct Chinese characters, and the share of happy endings."""
        stories = self.train + self.val
        en = "\n\n".join(s.text for s in stories)
        zh = "\n\n".join(s.text_zh for s in stories)
        words = _WORD.findall(en.lower())
        return {
            "stories": len(stories), "train_stories": len(self.train), "val_stories": len(self.val),
            "en_words": len(words), "en_distinct_words": len(set(words)),
            "en_chars": len(en), "en_mb": round(len(en.encode()) / 1e6, 3),
            "zh_chars": len(zh), "zh_distinct_chars": len({c for c in zh if "\u4e00" <= c <= "\u9fff"}),
            "zh_mb": round(len(zh.encode()) / 1e6, 3),
            "happy_fraction": round(sum(s.happy_ending for s in stories) / max(len(stories), 1), 3),
        }


def cache_path(folder: str | Path, n_stories: int, seed: int) -> Path:
    """Where :func:`load_corpus` keeps a generated corpus; the name changes with :data:`GENERATOR_VERSION`."""
    return Path(folder) / f"corpus-v{GENERATOR_VERSION}-seed{seed}-n{n_stories}.jsonl"


def load_corpus(n_stories: int = DEFAULT_STORIES, seed: int = 0, val_fraction: float = 0.05,
                cache_dir: str | Path | None = None) -> Corpus:
    """The corpus of ``n_stories`` stories for ``seed``, read from the cache folder or generated and cached there.

    The last ``round(n_stories * val_fraction)`` stories (at least one if ``val_fraction > 0``) are the
    validation set. ``cache_dir`` defaults to :func:`llama_course.data.sources.cache_dir`.
    """
    if not is_whole(n_stories):
        raise TypeError(f"n_stories must be an int, got {type(n_stories).__name__}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = max(1, round(n_stories * val_fraction)) if val_fraction > 0 else 0
    if n_stories - n_val < 1:
        raise ValueError(f"n_stories={n_stories} is too few to keep a training set with val_fraction={val_fraction}")
    from ..sources import cache_dir as default_cache_dir

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_path(folder, n_stories, seed)
    stories = _read_cache(path)
    if stories is None:
        stories = generate_stories(n_stories, seed)
        folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in stories)
        atomic_write(path, lambda tmp: Path(tmp).write_text(lines, encoding="utf-8"))
    return Corpus(train=stories[: n_stories - n_val], val=stories[n_stories - n_val:])


def _read_cache(path: Path) -> list[Story] | None:
    """The cached stories, or None when there is no cache or it is unreadable (then it is made again)."""
    if not path.exists():
        return None
    try:
        with path.open(encoding="utf-8") as f:
            return [_story_from_json(line) for line in f]
    except (ValueError, TypeError, KeyError):  # a damaged cache file costs a regeneration, nothing more
        return None


def _story_from_json(line: str) -> Story:
    fields = json.loads(line)
    for key in ("qa", "qa_zh", "lines"):
        fields[key] = tuple(tuple(pair) for pair in fields[key])
    return Story(**fields)
