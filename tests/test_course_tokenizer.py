"""The tokenizer shipped in assets/ loads, round-trips, and is exactly what its command makes."""

import pytest

from llama_course import cli
from llama_course.data.tokenizer import CHAT_TOKENS, COURSE_TOKENIZER, course_tokenizer


def test_shipped_tokenizer_loads_and_round_trips():
    tokenizer = course_tokenizer()
    assert len(tokenizer) == 4096
    assert (tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id) == (0, 1, 2, 3)
    assert all(t in tokenizer.special_ids for t in CHAT_TOKENS)
    texts = ["Once upon a time, Lily found a red ball.", "很久以前，有一只小猫。", "🦙 llamas!\n\n  tabs\there", ""]
    for text in texts:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    assert [tokenizer.id_to_piece(i) for i in tokenizer.encode("2023")] == ["▁", "2", "0", "2", "3"]  # split digits


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_the_command_reproduces_the_shipped_tokenizer(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLAMA_COURSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "tokenizer.model"
    assert cli.main(["tokenizer", "--out", str(out)]) == 0
    assert out.read_bytes() == COURSE_TOKENIZER.read_bytes(), "re-run `llama-course tokenizer` and commit the result"
    assert "tokens per character" in capsys.readouterr().out
