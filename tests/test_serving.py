"""Quantized weights, the serving decoder and GGUF export: each checked against the float model it comes from."""

from unittest import mock

import gguf
import numpy as np
import pytest
import torch

from llama_course.cli import main
from llama_course.config import LlamaConfig
from llama_course.files import CourseError
from llama_course.generate import generate
from llama_course.model import Llama
from llama_course.serving import gguf as course_gguf
from llama_course.serving.decode import Decoder, matching_prefix
from llama_course.serving.quantize import (
    Int4Linear,
    Int8Linear,
    dequantize,
    quantize_int4,
    quantize_int8,
    quantize_model,
    weight_bytes,
)
from llama_course.training.checkpoint import course_model


@pytest.fixture(scope="module")
def shipped():
    return course_model()


def random_llama(seed=0, **changes):
    torch.manual_seed(seed)
    config = LlamaConfig.preset("tiny").replace(vocab_size=320, dim=64, n_layers=2, max_seq_len=64, **changes)
    return Llama(config).eval()


def test_int8_and_int4_round_to_within_half_a_step():
    w = torch.randn(48, 128) * torch.linspace(0.1, 3, 48)[:, None]  # rows of very different sizes
    q8, s8 = quantize_int8(w)
    assert q8.dtype == torch.int8 and s8.shape == (48,) and int(q8.abs().max()) == 127
    assert ((dequantize(q8, s8) - w).abs() <= s8[:, None] / 2 + 1e-6).all()
    q4, s4 = quantize_int4(w, group_size=32)
    assert s4.shape == (48, 4) and int(q4.min()) >= -8 and int(q4.max()) == 7
    step = s4.repeat_interleave(32, dim=1)
    assert ((dequantize(q4, s4) - w).abs() <= step / 2 + 1e-6).all()
    with pytest.raises(ValueError, match="divisible"):
        quantize_int4(torch.randn(4, 48), group_size=32)


@pytest.mark.parametrize("layer_type", [Int8Linear, Int4Linear])
def test_every_path_of_a_quantized_layer_computes_the_same_product(layer_type):
    """The CPU kernel (eager), and the multiply-and-sum that torch.compile fuses, against the dequantized matrix."""
    w, x = torch.randn(96, 64), torch.randn(2, 3, 64)
    layer = layer_type(w)
    q, scale = quantize_int8(w) if layer_type is Int8Linear else quantize_int4(w)
    expected = x @ dequantize(q, scale).T
    torch.testing.assert_close(layer(x), expected, atol=1e-4, rtol=1e-4)
    with mock.patch("torch.compiler.is_compiling", return_value=True):
        torch.testing.assert_close(layer(x), expected, atol=1e-4, rtol=1e-4)
    assert (layer(x) - x @ w.T).abs().max() > 1e-3  # quantization does change the numbers


def test_quantized_copies_hold_fewer_bytes_and_leave_the_model_alone(shipped):
    model = shipped.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sizes = {kind: weight_bytes(quantize_model(model, kind)) for kind in ("float", "int8", "int4")}
    assert sizes["float"] == weight_bytes(model) > sizes["int8"] > sizes["int4"]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError, match="kind"):
        quantize_model(model, "int3")


def test_int8_model_predicts_like_the_float_one(shipped):
    model, tokenizer = shipped.model, shipped.tokenizer
    ids = tokenizer.encode("Once upon a time, there was a little cat named Tom.", bos=True)
    x = torch.tensor([ids])
    with torch.no_grad():
        _, loss = model(x[:, :-1], x[:, 1:])
        _, loss8 = quantize_model(model, "int8")(x[:, :-1], x[:, 1:])
    assert abs(loss8.item() - loss.item()) < 0.02
    ours = generate(model, ids, 40, temperature=0)
    assert matching_prefix(ours, generate(quantize_model(model, "int8"), ids, 40, temperature=0)) >= 20


def test_decoder_gives_the_models_tokens(shipped):
    model, tokenizer = shipped.model, shipped.tokenizer
    ids = tokenizer.encode("Lily found a red ball in the garden.", bos=True)
    assert Decoder(model).generate(ids, 60) == generate(model, ids, 60, temperature=0)
    for kind in ("int8", "int4"):  # fused matrices quantize row by row and group by group, like the separate ones
        assert Decoder(model, kind).generate(ids, 30) == generate(quantize_model(model, kind), ids, 30, temperature=0)


def test_decoder_logits_match_with_a_position_tensor_too():
    model = random_llama(n_kv_heads=2)
    decoder = Decoder(model)
    prompt = torch.randint(0, 320, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(prompt)[:, -1]
        for pos in (8, torch.tensor(8)):  # an int slices the cache; a tensor masks the whole of it (compiled path)
            cache = decoder.new_cache(2, 20)
            decoder(prompt[:, :8], cache, 0)
            torch.testing.assert_close(decoder(prompt[:, 8:], cache, pos), expected, atol=1e-5, rtol=1e-5)


def test_decoder_batches_and_stops():
    model = random_llama()
    prompts = [[1, 5, 9], [1, 7, 3]]
    together = Decoder(model).generate(prompts, 12)
    assert together == [Decoder(model).generate(p, 12) for p in prompts]
    first = together[0][4]
    stopped = Decoder(model).generate(prompts[0], 12, stop_ids=[first])
    assert stopped[-1] == first and len(stopped) <= 5
    assert len(Decoder(model).generate([1] * 60, 50)) == 4  # the context (64) is full after 4 new tokens


@pytest.mark.parametrize("prompt, message", [([1, 999], "vocabulary"), ([], "non-empty"), ([1] * 64, "no room")])
def test_decoder_refuses_bad_prompts(prompt, message):
    with pytest.raises(ValueError, match=message):
        Decoder(random_llama()).generate(prompt, 5)


def test_decoder_holds_every_weight_once():
    model = random_llama()
    assert weight_bytes(Decoder(model)) == weight_bytes(model)  # the same numbers, fused into fewer matrices
    assert weight_bytes(Decoder(model, "int8")) < weight_bytes(model) / 2


def test_decoder_refuses_unknown_weights():
    with pytest.raises(ValueError, match="weights must be one of"):
        Decoder(random_llama(), "int2")


@pytest.mark.parametrize("kind, atol", [("f32", 0.0), ("f16", 1e-3), ("q8_0", 1e-2)])
def test_gguf_round_trip(shipped, tmp_path, kind, atol):
    path = course_gguf.export_gguf(shipped.model, shipped.tokenizer, tmp_path / "m.gguf", kind)
    config, weights, pieces = course_gguf.read_gguf(path)
    ours = shipped.model.state_dict()
    assert set(weights) == set(ours)
    for name, tensor in ours.items():
        assert weights[name].shape == tensor.shape
        torch.testing.assert_close(weights[name], tensor, atol=atol, rtol=0)
    assert config.hidden_dim == shipped.model.config.hidden_dim and config.n_kv_heads == 2
    assert pieces == [shipped.tokenizer.id_to_piece(i) for i in range(len(shipped.tokenizer))]
    fields = gguf.GGUFReader(str(path)).fields
    assert fields["tokenizer.chat_template"].contents() == course_gguf.CHAT_TEMPLATE
    assert fields["tokenizer.ggml.eot_token_id"].contents() == shipped.tokenizer.piece_to_id("<|end|>")
    types = np.array(fields["tokenizer.ggml.token_type"].contents())
    assert types[4] == gguf.TokenType.USER_DEFINED and (types == gguf.TokenType.BYTE).sum() == 256


def test_gguf_export_refuses_bad_targets_and_keeps_the_old_file(shipped, tmp_path):
    for bad, message in ((tmp_path, "is a folder"), (tmp_path / "m.bin", "ends in .gguf"),
                         (tmp_path / "missing" / "m.gguf", "does not exist")):
        with pytest.raises(CourseError, match=message):
            course_gguf.export_gguf(shipped.model, shipped.tokenizer, bad)
    target = tmp_path / "m.gguf"
    target.write_bytes(b"old")
    with mock.patch.object(course_gguf.gguf.GGUFWriter, "write_tensors_to_file", side_effect=OSError(28, "No space")):
        with pytest.raises(OSError):
            course_gguf.export_gguf(shipped.model, shipped.tokenizer, target)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.gguf"]
    with pytest.raises(CourseError, match="type"):
        course_gguf.export_gguf(shipped.model, shipped.tokenizer, target, "q2_k")


def test_gguf_export_needs_the_models_own_sentencepiece_tokenizer(shipped, tmp_path):
    from llama_course.data.tokenizer import CharTokenizer

    with pytest.raises(CourseError, match="character tokenizer"):
        course_gguf.export_gguf(shipped.model, CharTokenizer("abc"), tmp_path / "m.gguf")
    with pytest.raises(CourseError, match="do not belong together"):
        course_gguf.export_gguf(random_llama(), shipped.tokenizer, tmp_path / "m.gguf")
    assert not list(tmp_path.iterdir())


def test_export_command(tmp_path, capsys):
    assert main(["export", "--gguf", str(tmp_path / "m.gguf"), "--type", "q8_0"]) == 0
    assert "q8_0" in capsys.readouterr().out and (tmp_path / "m.gguf").stat().st_size > 1e6
    with pytest.raises(SystemExit, match="does not exist"):
        main(["export", "--gguf", str(tmp_path / "no" / "m.gguf")])
