"""DPO and long context: preference pairs from the stories, the loss against a hand computation and its gradient,
log-probabilities of replies, the win rate, a short training that moves the margins, `llama-course finetune dpo`,
position interpolation and the loss by position."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from llama_course.cli import main
from llama_course.config import LlamaConfig
from llama_course.data.batches import TokenDataset
from llama_course.data.corpus import generate_stories
from llama_course.data.preferences import PreferencePair, preference_pairs
from llama_course.data.tokenizer import course_tokenizer
from llama_course.model import Llama
from llama_course.rope import position_interpolation, precompute_rope, rope_frequencies
from llama_course.training.context import loss_by_position, with_context
from llama_course.training.dpo import (
    dpo_loss,
    encode_pairs,
    fitting_pairs,
    pair_logprobs,
    preference_scores,
    sequence_logprobs,
    train_dpo,
)
from llama_course.training.recipe import TrainConfig

TOKENIZER = course_tokenizer()
STORIES = generate_stories(30, seed=3)


def small_model(seq=256, seed=0):
    torch.manual_seed(seed)
    return Llama(LlamaConfig(vocab_size=len(TOKENIZER), dim=32, n_layers=2, n_heads=4, n_kv_heads=2,
                             max_seq_len=seq)).eval()


def test_the_loss_equals_a_hand_computation_and_log_2_at_the_start():
    loss, chosen, rejected = dpo_loss(torch.tensor([-5.0, -1.0]), torch.tensor([-7.0, -2.0]),
                                      torch.tensor([-6.0, -1.0]), torch.tensor([-6.5, -1.0]), beta=0.1)
    margins = [0.1 * ((-5 + 6) - (-7 + 6.5)), 0.1 * ((-1 + 1) - (-2 + 1))]  # 0.15 and 0.1
    by_hand = sum(math.log(1 + math.exp(-m)) for m in margins) / 2
    assert loss.item() == pytest.approx(by_hand, abs=1e-6)
    assert chosen.tolist() == pytest.approx([0.1, 0.0]) and rejected.tolist() == pytest.approx([-0.05, -0.1])
    same = torch.full((4,), -3.0)
    assert dpo_loss(same, same - 1, same, same - 1, 0.5)[0].item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(same, same, same, same, 0.0)


def test_the_gradient_raises_the_chosen_and_lowers_the_rejected_by_beta_sigmoid_minus_margin():
    logps = torch.tensor([[-4.0, -9.0], [-8.0, -3.0]], requires_grad=True)  # one pair right, one wrong
    ref = torch.tensor([[-5.0, -8.0], [-6.0, -5.0]])
    beta = 0.3
    dpo_loss(logps[:, 0], logps[:, 1], ref[:, 0], ref[:, 1], beta)[0].backward()
    margin = beta * ((logps[:, 0] - ref[:, 0]) - (logps[:, 1] - ref[:, 1])).detach()
    weight = beta * torch.sigmoid(-margin) / 2  # the mean over two pairs
    torch.testing.assert_close(logps.grad, torch.stack([-weight, weight], dim=1))
    assert weight[1] > weight[0]  # the pair the implicit reward gets wrong weighs more


def test_preference_pairs_are_checkable_and_held_out_pairs_use_their_own_stories():
    pairs = preference_pairs(STORIES, seed=1)
    answers = {f"{s.text}\n{q}": a for s in STORIES for q, a in s.qa}
    assert {p.kind for p in pairs} == {"correct", "concise"}
    for pair in pairs:
        assert pair.chosen == answers[pair.prompt] != pair.rejected
        if pair.kind == "concise":
            assert pair.rejected.startswith(pair.chosen + ". ") and pair.rejected[len(pair.chosen) + 2:] in pair.prompt
    all_answers = {a for s in STORIES for _, a in s.qa}
    assert all(p.rejected in all_answers for p in pairs if p.kind == "correct")
    assert preference_pairs(STORIES, seed=1) == pairs
    assert {p.kind for p in preference_pairs(STORIES, kinds=["concise"])} == {"concise"}
    with pytest.raises(ValueError, match="kinds"):
        preference_pairs(STORIES, kinds=["polite"])
    with pytest.raises(ValueError, match="two different replies"):
        PreferencePair("q", "a", "a", "correct")


def test_reply_logprobs_are_the_summed_masked_cross_entropy():
    model = small_model()
    pairs = fitting_pairs(TOKENIZER, preference_pairs(STORIES[:3]), 256)
    (inputs, targets), _ = encode_pairs(TOKENIZER, pairs, 256)[0]
    x, y = torch.tensor([inputs]), torch.tensor([targets])
    with torch.no_grad():
        expected = -F.cross_entropy(model(x)[0], y[0], ignore_index=-100, reduction="sum")
        torch.testing.assert_close(sequence_logprobs(model, x, y), expected[None])
    batched = pair_logprobs(model, TOKENIZER, encode_pairs(TOKENIZER, pairs, 256), batch_size=3)
    assert batched.shape == (len(pairs), 2)
    torch.testing.assert_close(batched[0, 0], expected, atol=1e-4, rtol=1e-5)  # padding changes nothing


def test_the_win_rate_counts_pairs_whose_chosen_reply_is_more_likely():
    model = small_model()
    pairs = fitting_pairs(TOKENIZER, preference_pairs(STORIES[:6]), 256)
    logps = pair_logprobs(model, TOKENIZER, encode_pairs(TOKENIZER, pairs, 256))
    scores = preference_scores(model, model, TOKENIZER, pairs)
    assert scores["win_rate"] == pytest.approx((logps[:, 0] > logps[:, 1]).float().mean().item())
    correct = torch.tensor([p.kind == "correct" for p in pairs])
    assert scores["win_rate/correct"] == pytest.approx((logps[correct, 0] > logps[correct, 1]).float().mean().item())
    assert scores["margin"] == 0.0 and scores["reward_accuracy"] == 0.0  # the reference against itself
    shifted = logps.clone()
    shifted[:, 1] += 1.0  # a reference that liked the rejected replies more: every margin is +beta
    moved = preference_scores(model, shifted, TOKENIZER, pairs, beta=0.5)
    assert moved["margin"] == pytest.approx(0.5) and moved["reward_accuracy"] == 1.0
    with pytest.raises(ValueError, match="shape"):
        preference_scores(model, logps[:2], TOKENIZER, pairs)
    with pytest.raises(ValueError, match="no preference pairs"):
        preference_scores(model, model, TOKENIZER, [])


def test_dpo_training_moves_the_margins_and_leaves_the_reference_alone():
    reference = small_model().requires_grad_(False)
    policy = copy.deepcopy(reference).requires_grad_(True)
    frozen = {k: v.clone() for k, v in reference.state_dict().items()}
    pairs = fitting_pairs(TOKENIZER, preference_pairs(STORIES[:8]), 256)[:8]
    config = TrainConfig(steps=6, batch_size=4, lr=3e-3, warmup_steps=0, weight_decay=0.0)
    history = train_dpo(policy, reference, TOKENIZER, pairs, config, beta=0.5, progress=False)
    assert history.loss[0] == pytest.approx(math.log(2), abs=1e-4)  # the policy starts as the reference
    assert history.loss[-1] < history.loss[0]
    scores = preference_scores(policy, reference, TOKENIZER, pairs, beta=0.5)
    assert scores["margin"] > 0 and scores["reward_accuracy"] > 0.5
    assert all(torch.equal(v, reference.state_dict()[k]) for k, v in frozen.items())


def test_finetune_dpo_prints_scores_before_and_after_and_saves_a_checkpoint(tmp_path, capsys):
    from llama_course.training.finetune import load_finetuned

    out = tmp_path / "dpo"
    assert main(["finetune", "dpo", "--stories", "40", "--steps", "2", "--batch-size", "2", "--eval", "6",
                 "--sft-steps", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "instruction tuning first: 1 steps" in printed
    assert "before: win_rate" in printed and "margin 0.000" in printed and "after 2 steps" in printed
    model, _, info = load_finetuned(out)
    assert info["task"] == "dpo" and info["beta"] == 0.1 and info["before"]["margin"] == 0.0
    assert set(info["after"]) == {"win_rate", "win_rate/correct", "win_rate/concise", "margin", "reward_accuracy"}


def test_finetune_dpo_refuses_before_training(tmp_path, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "mine.md").write_text("mine")
    for argv, words in [(["--out", str(notes)], "mine.md"), (["--lora"], "--lora"), (["--beta", "0"], "beta")]:
        with pytest.raises(SystemExit) as refused:
            main(["finetune", "dpo", "--stories", "40", "--steps", "1", *argv])
        assert words in str(refused.value)
    assert "before:" not in capsys.readouterr().out and (notes / "mine.md").read_text() == "mine"


def test_position_interpolation_gives_position_m_the_angles_of_m_over_factor():
    scaling = position_interpolation(4.0, 64)
    torch.testing.assert_close(rope_frequencies(16, scaling=scaling), rope_frequencies(16) / 4)
    cos, sin = precompute_rope(16, 256, scaling=scaling)
    plain_cos, plain_sin = precompute_rope(16, 64)
    torch.testing.assert_close(cos[::4], plain_cos)
    torch.testing.assert_close(sin[::4], plain_sin)


def test_loss_by_position_on_a_longer_context():
    model = small_model(seq=32)
    data = TokenDataset(torch.randint(4, len(TOKENIZER), (2000,)), 64)
    with pytest.raises(ValueError, match="with_context"):
        loss_by_position(model, data)
    longer = with_context(model, 64, position_interpolation(2.0, 32))
    assert longer.config.max_seq_len == 64 and longer.config.rope_scaling.factor == 2.0
    curve = loss_by_position(longer, data, max_windows=4)
    x, y = next(data.batches(4, 4))
    with torch.no_grad():
        torch.testing.assert_close(curve.mean(), longer(x, y)[1], atol=1e-4, rtol=1e-4)
    assert curve.shape == (64,)


def test_the_loss_equals_trls_dpo_trainer_on_the_same_batch(tmp_path):
    """Test-only check against a maintained implementation: TRL's DPOTrainer tokenizes pairs, runs a policy and a
    reference (transformers' Llama) and computes its sigmoid DPO loss; ours, on the same token ids and weights
    (loaded into our Llama), gives the same number."""
    trl = pytest.importorskip("trl")
    from datasets import Dataset
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig as HFConfig
    from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

    from llama_course.hf import from_hf

    words = "<pad> <eos> who is it about ? mia tom sam ran home the dog cat".split()
    word_level = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<pad>"))
    word_level.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    hf_tokenizer = PreTrainedTokenizerFast(tokenizer_object=word_level, pad_token="<pad>", eos_token="<eos>")
    torch.manual_seed(0)
    config = HFConfig(vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                      tie_word_embeddings=False)
    policy, reference = LlamaForCausalLM(config), LlamaForCausalLM(config)
    data = Dataset.from_dict({"prompt": ["who is it about ?", "the dog ran"], "chosen": [" mia", " home"],
                              "rejected": [" tom sam", " the cat"]})
    args = trl.DPOConfig(output_dir=str(tmp_path), beta=0.2, per_device_train_batch_size=2, report_to=[],
                         use_cpu=True, precompute_ref_log_probs=False)
    trainer = trl.DPOTrainer(model=policy, ref_model=reference, args=args, train_dataset=data,
                             processing_class=hf_tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))  # chosen rows, then rejected rows, padded on the right
    trainer.model.eval()
    with torch.no_grad():
        theirs = trainer.compute_loss(trainer.model, batch)
        ids, completion = batch["input_ids"], batch["completion_mask"]
        targets = ids[:, 1:].masked_fill(completion[:, 1:] == 0, -100)
        logps = sequence_logprobs(from_hf(policy).eval(), ids[:, :-1], targets)
        ref_logps = sequence_logprobs(from_hf(reference).eval(), ids[:, :-1], targets)
    n = len(logps) // 2
    ours = dpo_loss(logps[:n], logps[n:], ref_logps[:n], ref_logps[n:], beta=0.2)[0]
    torch.testing.assert_close(ours, theirs.float(), atol=1e-4, rtol=1e-4)  # float32 sums in another order
