"""SentencePiece BPE as LLaMA configures it, the character baseline, and both against our byte-level BPE."""

import random

import pytest
import torch

from llama_course.data.bpe import BytePairTokenizer
from llama_course.data.tokenizer import CHAT_TOKENS, CharTokenizer, Tokenizer

EN_WORDS = (
    "the a little big old happy sad fox cat dog girl boy mother tree river house garden ball book friend day "
    "night sun moon rain wind ran walked saw found gave said played looked wanted liked was were and but then "
    "with to in on under over near because when after before very quietly bright red blue green"
).split()
ZH_PHRASES = (
    "小狐狸 小猫 妈妈 朋友 老奶奶 一棵大树 河边 花园里 房子 红色的球 一本书 太阳 月亮 下雨了 风很大 "
    "跑了过去 看见了 找到了 说 玩 很开心 有点难过 安静地 然后 但是 因为 今天 晚上 我们 他们 一起"
).split()


def mixed_text(n_chars: int, seed: int = 0) -> tuple[str, str]:
    """A deterministic English text and Chinese text, paragraphs separated by blank lines, numbers included."""
    rng = random.Random(seed)
    en, zh = [], []
    while sum(map(len, en)) < n_chars:
        words = [rng.choice(EN_WORDS) for _ in range(rng.randint(4, 14))]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 2025)))
        sentence = " ".join(words).capitalize() + rng.choice([".", ".", "!", "?", ","])
        en.append(sentence + rng.choice([" ", " ", " ", "\n", "\n\n"]))
    while sum(map(len, zh)) < n_chars // 3:
        sentence = "".join(rng.choice(ZH_PHRASES) for _ in range(rng.randint(3, 9)))
        if rng.random() < 0.2:
            sentence += str(rng.randint(0, 2025)) + "年"
        zh.append(sentence + rng.choice(["。", "。", "！", "？", "，"]) + rng.choice(["", "", "\n", "\n\n"]))
    return "".join(en), "".join(zh)


EN, ZH = mixed_text(90_000)
TEXT = EN + "\n\n" + ZH
ROUND_TRIPS = [
    "", " ", "  ", "hello world", " leading space", "  two leading spaces", "trailing space ", "a   b",
    "\ttabs\tinside\t", "line one\nline two\n\nnew paragraph\n", "\n", "\n\nstarts with newlines", "\r\n",
    "小狐狸看见了月亮。", "中英 mixed 文本 with 123 numbers", "emoji 🦊👩‍👩‍👧 🇳🇱", "unseen: ǅ 𠀀 龘 ﬁ Ａ e\u0301",
    "<|user|>Hi!<|end|><|assistant|>Hello.<|end|>", "x" * 300, EN[:2000], ZH[:700],
]


@pytest.fixture(scope="module")
def sp(tmp_path_factory):
    return Tokenizer.train(TEXT, tmp_path_factory.mktemp("sp") / "tok.model", vocab_size=1000)


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_sentencepiece_round_trip_is_exact(sp, text):
    assert sp.decode(sp.encode(text)) == text
    assert sp.decode(sp.encode(text, bos=True, eos=True)) == text


def test_sentencepiece_round_trips_random_unicode(sp):
    rng = random.Random(0)
    alphabet = [chr(c) for c in [*range(0x250), *range(0x4E00, 0x4F00), *range(0x1F600, 0x1F650)]]
    alphabet += ["\u3000", "\u2028", "\ufeff", "\U0010ffff", " ", " ", "\n"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert sp.decode(sp.encode(text)) == text


def test_sentencepiece_only_loses_its_own_space_marker(sp):
    # "▁" (U+2581) is how SentencePiece writes a space; in input text it comes back as a space, as in LLaMA.
    assert sp.decode(sp.encode("a▁b")) == "a b"


def test_sentencepiece_is_configured_like_llama(sp):
    assert len(sp) == 1000
    assert [sp.id_to_piece(i) for i in range(7)] == ["<unk>", "<s>", "</s>", "<pad>", *CHAT_TOKENS]
    assert (sp.unk_id, sp.bos_id, sp.eos_id, sp.pad_id) == (0, 1, 2, 3)
    assert sp.special_ids == {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3, "<|user|>": 4, "<|assistant|>": 5,
                              "<|end|>": 6}
    assert sp.id_to_piece(7) == "<0x00>" and sp.id_to_piece(7 + 255) == "<0xFF>"  # byte fallback pieces
    assert [sp.id_to_piece(i) for i in sp.encode("12345")] == ["▁", "1", "2", "3", "4", "5"]  # split_digits
    assert [sp.id_to_piece(i) for i in sp.encode("a\nb")][1] == "<0x0A>"  # a newline is its byte
    assert [sp.id_to_piece(i) for i in sp.encode("ǅ")] == ["▁", "<0xC7>", "<0x85>"]  # unseen: UTF-8 bytes
    assert sp.id_to_piece(sp.encode("ﬁ")[1]) == "<0xEF>"  # identity normalisation: no NFKC "ﬁ" -> "fi"
    assert sp.encode("<|user|>hi<|end|>")[1] == sp.piece_to_id("<|user|>")  # chat tokens are single ids
    assert sp.piece_to_id("not a piece") == sp.unk_id
    assert sp.encode("hi", bos=True, eos=True)[0] == 1 and sp.encode("hi", bos=True, eos=True)[-1] == 2
    assert sp.encode("") == [] and sp.encode("", bos=True) == [1]


def test_sentencepiece_keeps_whitespace_runs(tmp_path):
    code = "\n".join(f"    line {i} of indented text\n        deeper" for i in range(300))
    tok = Tokenizer.train(code, tmp_path / "code.model", vocab_size=300)
    pieces = {tok.id_to_piece(i) for i in range(len(tok))}
    assert any(len(p) > 1 and set(p) == {"▁"} for p in pieces)  # allow_whitespace_only_pieces
    assert tok.decode(tok.encode(code)) == code


def test_decode_drops_control_tokens(sp):
    ids = sp.encode("the fox")
    assert sp.decode([sp.bos_id, *ids, sp.eos_id, sp.pad_id, sp.pad_id]) == "the fox"
    assert sp.decode(torch.tensor(ids)) == "the fox"
    assert sp.decode_batch([ids, [sp.bos_id]]) == ["the fox", ""]
    assert sp.encode_batch(["the fox", ""], bos=True) == [[1, *ids], [1]]


def test_sentencepiece_training_is_deterministic_and_atomic(tmp_path):
    a = Tokenizer.train(TEXT[:30_000], tmp_path / "a.model", vocab_size=500)
    b = Tokenizer.train(TEXT[:30_000], tmp_path / "b.model", vocab_size=500)
    assert (tmp_path / "a.model").read_bytes() == (tmp_path / "b.model").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.model", "b.model"]  # no temporary files left
    loaded = Tokenizer.load(tmp_path / "a.model")
    assert len(loaded) == len(a) == len(b) and loaded.encode(TEXT[:500]) == a.encode(TEXT[:500])


def test_sentencepiece_clear_errors(sp, tmp_path):
    with pytest.raises(ValueError, match="empty text"):
        Tokenizer.train(["", "\n\n"], tmp_path / "x.model")
    with pytest.raises(ValueError, match="smaller than required_chars"):
        Tokenizer.train(TEXT, tmp_path / "x.model", vocab_size=300)  # 256 bytes + specials + every character
    with pytest.raises(ValueError, match="too high"):
        Tokenizer.train("a tiny text", tmp_path / "x.model", vocab_size=4096)
    assert not (tmp_path / "x.model").exists()
    with pytest.raises(FileNotFoundError, match="no tokenizer model"):
        Tokenizer.load(tmp_path / "missing.model")
    (tmp_path / "bad.model").write_bytes(b"this is not a model")
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        Tokenizer.load(tmp_path / "bad.model")
    with pytest.raises(TypeError, match="expected a str"):
        sp.encode(["a list"])
    with pytest.raises(TypeError, match="expected a str"):
        sp.encode_batch(["ok", 3])
    with pytest.raises(TypeError, match="list of str"):
        sp.encode_batch("one text")
    with pytest.raises(ValueError, match="token id 1000 .*vocab size 1000"):
        sp.decode([5, 1000])
    with pytest.raises(ValueError, match="token id -1"):
        sp.id_to_piece(-1)


def test_char_tokenizer(tmp_path):
    tok = CharTokenizer.from_text(["hello world\n", "你好"])
    assert tok.chars == sorted("helo wrd\n你好") and len(tok) == 4 + len(tok.chars)
    for text in ["hello world", "", "你好\nworld  ", "  "]:
        assert tok.decode(tok.encode(text)) == text
    assert tok.encode("he", bos=True, eos=True) == [tok.bos_id, 4 + tok.chars.index("h"), 4 + tok.chars.index("e"),
                                                    tok.eos_id]
    assert tok.decode([tok.bos_id, *tok.encode("ol"), tok.pad_id, tok.eos_id]) == "ol"
    assert tok.encode("hi!") == [*tok.encode("h"), tok.unk_id, tok.unk_id]  # unseen characters become <unk>
    assert tok.decode(tok.encode("hi!")) == "h\ufffd\ufffd"  # ... and are lost
    assert tok.decode_batch(tok.encode_batch(["hello", "world"])) == ["hello", "world"]
    path = tok.save(tmp_path / "chars.json")
    assert [p.name for p in tmp_path.iterdir()] == ["chars.json"]
    assert CharTokenizer.load(path).chars == tok.chars
    with pytest.raises(ValueError, match="empty text"):
        CharTokenizer.from_text("")
    with pytest.raises(ValueError, match=f"token id {len(tok)}"):
        tok.decode([len(tok)])
    with pytest.raises(TypeError, match="expected a str"):
        tok.encode(42)
    (tmp_path / "bad.json").write_text('{"format": "llama_course.bpe"}')
    with pytest.raises(ValueError, match="not a CharTokenizer file"):
        CharTokenizer.load(tmp_path / "bad.json")


def test_byte_bpe_and_sentencepiece_on_the_same_text(sp, capsys):
    bpe = BytePairTokenizer.train(TEXT, vocab_size=len(sp))
    assert len(bpe) == len(sp) == 1000
    for text in ROUND_TRIPS:
        assert bpe.decode(bpe.encode(text)) == text
    with capsys.disabled():
        print()
        for name, text in [("English", EN), ("Chinese", ZH)]:
            n_bytes = len(text.encode("utf-8"))
            n_bpe, n_sp = len(bpe.encode(text)), len(sp.encode(text))
            assert sp.decode(sp.encode(text)) == text and bpe.decode(bpe.encode(text)) == text
            assert n_bpe < n_bytes and n_sp < n_bytes  # both compress; neither is asserted to beat the other
            print(f"  {name}: {len(text)} chars, {n_bytes} bytes; tokens per char: byte-level BPE "
                  f"{n_bpe / len(text):.3f}, SentencePiece {n_sp / len(text):.3f} (vocab {len(sp)})")
