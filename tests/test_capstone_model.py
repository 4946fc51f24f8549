"""The capstone of notebook 04: the learner's MyBlock and MyLlama (the file my_llama.py) against check_block and
check_llama: the notebook's solution passes, the stub says "not written yet", the usual mistakes are named."""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from llama_course.classroom.exercises import ExerciseError, check_block, check_llama
from llama_course.classroom.student_copies import BEGIN, strip_solution

pytest.importorskip("transformers")  # check_llama compares with transformers' LlamaForCausalLM

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_llama_block.ipynb"


def capstone_source() -> str:
    """The notebook's %%writefile cell, without that line: the code of my_llama.py."""
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code"]
    (source,) = [s for s in cells if s.startswith("%%writefile my_llama.py") and BEGIN in s]
    return source.split("\n", 1)[1]


def load(source: str) -> dict:
    namespace: dict = {}
    exec(source, namespace)
    return namespace


@pytest.fixture(scope="module")
def solution():
    return load(capstone_source())


def test_the_notebooks_solution_passes_both_checks(solution, capsys):
    check_block(solution["MyBlock"])
    check_llama(solution["MyLlama"])
    assert capsys.readouterr().out.count("✓") == 2


def test_the_stub_is_not_written_yet():
    stub = load(strip_solution(capstone_source()))
    with pytest.raises(ExerciseError, match="MyBlock.forward is not written yet"):
        check_block(stub["MyBlock"])
    with pytest.raises(ExerciseError, match="MyLlama.forward is not written yet"):
        check_llama(stub["MyLlama"])


def test_the_model_is_the_packages_to_the_last_weight(solution):
    """Same names and the same initialisation: a seed gives the package's Llama, and state dicts load both ways."""
    from llama_course.config import LlamaConfig
    from llama_course.model import Llama

    config = LlamaConfig.preset("tiny").replace(tie_embeddings=True)
    torch.manual_seed(3)
    package = Llama(config)
    torch.manual_seed(3)
    mine = solution["MyLlama"](config)
    assert list(mine.state_dict()) == list(package.state_dict())
    pairs = zip(mine.state_dict().values(), package.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert mine.output.weight is mine.tok_embeddings.weight
    assert "rope_cos" not in mine.state_dict()
    package.load_state_dict(mine.state_dict())


def subclass(base, forward):
    return type("Wrong" + base.__name__, (base,), {"forward": forward})


def post_norm(self, x, cos, sin, cache=None):
    h = self.attention_norm(x + self.attention(x, cos, sin, cache))
    return self.ffn_norm(h + self.feed_forward(h))


def no_first_residual(self, x, cos, sin, cache=None):
    h = self.attention(self.attention_norm(x), cos, sin, cache)
    return h + self.feed_forward(self.ffn_norm(h))


def no_second_residual(self, x, cos, sin, cache=None):
    h = x + self.attention(self.attention_norm(x), cos, sin, cache)
    return self.feed_forward(self.ffn_norm(h))


@pytest.mark.parametrize("forward, message", [
    (post_norm, "post-norm"), (no_first_residual, "first residual is missing"),
    (no_second_residual, "second residual is missing"),
], ids=["post-norm", "first residual", "second residual"])
def test_check_block_names_the_usual_mistakes(solution, forward, message):
    with pytest.raises(ExerciseError, match=message):
        check_block(subclass(solution["MyBlock"], forward))


def stack(model, tokens, cache, start=None):
    """The blocks of ``model`` over ``tokens`` with the angles of positions ``start``.. (cache.pos by default)."""
    start = (0 if cache is None else cache.pos) if start is None else start
    seq = tokens.size(1)
    h = model.tok_embeddings(tokens)
    for layer in model.layers:
        h = layer(h, model.rope_cos[start:start + seq], model.rope_sin[start:start + seq], cache)
    return h


def finish(model, h, targets):
    logits = model.output(model.norm(h))
    if targets is None:
        return logits
    return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)


def no_final_norm(self, tokens, targets=None, cache=None):
    h = stack(self, tokens, cache)
    if cache is not None:
        cache.advance(tokens.size(1))
    return self.output(h)


def shifts_targets(self, tokens, targets=None, cache=None):
    h = stack(self, tokens, cache)
    if cache is not None:
        cache.advance(tokens.size(1))
    logits = self.output(self.norm(h))
    if targets is None:
        return logits
    return logits, F.cross_entropy(logits[:, :-1].flatten(0, 1), targets[:, 1:].flatten(), ignore_index=-100)


def always_a_pair(self, tokens, targets=None, cache=None):
    logits = finish(self, stack(self, tokens, cache), None)
    return logits, None


def never_advances(self, tokens, targets=None, cache=None):
    return finish(self, stack(self, tokens, cache), targets)


def positions_from_zero(self, tokens, targets=None, cache=None):
    h = stack(self, tokens, cache, start=0)
    if cache is not None:
        cache.advance(tokens.size(1))
    return finish(self, h, targets)


def advances_in_each_block(self, tokens, targets=None, cache=None):
    h = self.tok_embeddings(tokens)
    start, seq = (0 if cache is None else cache.pos), tokens.size(1)
    for layer in self.layers:
        h = layer(h, self.rope_cos[start:start + seq], self.rope_sin[start:start + seq], cache)
        if cache is not None:
            cache.advance(seq)
    return finish(self, h, targets)


def advances_before_the_blocks(self, tokens, targets=None, cache=None):
    start = 0 if cache is None else cache.pos
    if cache is not None:
        cache.advance(tokens.size(1))
    return finish(self, stack(self, tokens, cache, start=start), targets)


def whole_rope_tables(self, tokens, targets=None, cache=None):
    h = self.tok_embeddings(tokens)
    for layer in self.layers:
        h = layer(h, self.rope_cos, self.rope_sin, cache)
    if cache is not None:
        cache.advance(tokens.size(1))
    return finish(self, h, targets)


def loss_first(self, tokens, targets=None, cache=None):
    got = solution_forward(self, tokens, targets, cache)
    return got if targets is None else got[::-1]


def solution_forward(self, tokens, targets=None, cache=None):
    h = stack(self, tokens, cache)
    if cache is not None:
        cache.advance(tokens.size(1))
    return finish(self, h, targets)


def block_drops_the_cache(self, x, cos, sin, cache=None):
    h = x + self.attention(self.attention_norm(x), cos, sin)
    return h + self.feed_forward(self.ffn_norm(h))


@pytest.mark.parametrize("forward, message", [
    (no_final_norm, "before the final norm"),
    (shifts_targets, "shifts the targets again"),
    (always_a_pair, "logits alone, not a tuple"),
    (never_advances, "call cache.advance"),
    (advances_in_each_block, "not in each block"),
    (positions_from_zero, "must start at cache.pos"),
    (advances_before_the_blocks, r"keys were stored after position cache.pos: call cache.advance\(seq\) after the last "
                                 "block, not before the blocks"),
    (whole_rope_tables, "gave the blocks 32 rows of rotary angles for 12 tokens: rope_cos holds every position up "
                        "to max_seq_len; pass rows start:start\\+seq"),
    (loss_first, r"returned \(loss, logits\): return \(logits, loss\) in that order"),
], ids=["final norm", "shifted targets", "tuple", "no advance", "advance per block", "positions", "advance first",
        "whole rope tables", "loss first"])
def test_check_llama_names_the_usual_mistakes(solution, forward, message):
    with pytest.raises(ExerciseError, match=message):
        check_llama(subclass(solution["MyLlama"], forward))


def test_check_llama_sees_a_block_that_drops_the_cache(solution):
    namespace = load(capstone_source())
    namespace["MyBlock"].forward = block_drops_the_cache  # MyLlama builds its blocks from this class
    with pytest.raises(ExerciseError, match="pass cache on to self.attention"):
        check_llama(namespace["MyLlama"])


def test_weights_that_do_not_fit_the_names_are_a_clear_error(solution):
    class Renamed(torch.nn.Module):
        def __init__(self, config):
            super().__init__()
            self.block = solution["MyBlock"](config)

    with pytest.raises(ExerciseError, match="keep the attribute names"):
        check_block(Renamed)


def test_a_stub_block_is_named_when_the_model_is_written(solution):
    """MyLlama.forward written, MyBlock.forward still the stub: the message names both places it can be."""
    namespace = load(strip_solution(capstone_source()))
    namespace["MyLlama"].forward = solution["MyLlama"].forward
    with pytest.raises(ExerciseError, match=r"MyLlama.forward \(or the MyBlock.forward it calls\) is not written yet"):
        check_llama(namespace["MyLlama"])


def test_a_cache_in_a_message_shows_where_it_stands():
    from llama_course.attention import KVCache
    from llama_course.classroom.exercises.base import describe
    from llama_course.config import LlamaConfig

    cache = KVCache(LlamaConfig.preset("tiny"), 1)
    cache.advance(5)
    assert describe((torch.zeros(2, 1), None, cache)) == "tensor(2, 1), None, KVCache(pos=5)"
