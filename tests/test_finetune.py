"""Fine-tuning: the classification head (checked against transformers), the chat format and its masked loss,
the examples made from the stories, the shared loop, and the errors a learner meets."""

import pytest
import torch
import torch.nn.functional as F
import transformers

from llama_course.config import LlamaConfig
from llama_course.data.corpus import generate_stories
from llama_course.data.tokenizer import course_tokenizer
from llama_course.hf import to_hf
from llama_course.lora import apply_lora
from llama_course.model import Llama
from llama_course.training.classify import (
    LABELS,
    LlamaClassifier,
    encode_texts,
    evaluate_classifier,
    last_token_index,
    story_labels,
    train_classifier,
)
from llama_course.training.instruct import (
    Example,
    chat_prompt_ids,
    encode_example,
    encode_examples,
    exact_match,
    story_examples,
    train_instructions,
)
from llama_course.training.recipe import TrainConfig

TOKENIZER = course_tokenizer()


def small_model(vocab=50, seq=32, seed=0):
    torch.manual_seed(seed)
    return Llama(LlamaConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=seq)).eval()


def test_the_last_real_token_is_found_with_either_padding_side():
    tokens = torch.tensor([[5, 6, 7, 0, 0], [5, 6, 7, 8, 9], [0, 0, 5, 6, 7]])
    assert last_token_index(tokens, pad_id=0).tolist() == [2, 4, 4]


def test_the_classifier_matches_transformers_sequence_classification():
    backbone = small_model()
    classifier = LlamaClassifier(backbone, ("a", "b", "c"), pad_id=0).eval()
    tokens = torch.tensor([[1, 5, 9, 13, 0, 0], [1, 7, 8, 2, 4, 3]])
    hf_causal = to_hf(backbone)
    config = hf_causal.config
    config.num_labels, config.pad_token_id = 3, 0
    hf = transformers.LlamaForSequenceClassification(config).eval()
    hf.model.load_state_dict(hf_causal.model.state_dict())
    hf.score.weight.data.copy_(classifier.score.weight)
    with torch.no_grad():
        torch.testing.assert_close(classifier(tokens), hf(tokens).logits, atol=1e-5, rtol=1e-5)


def test_labels_outside_the_head_are_a_clear_error():
    classifier = LlamaClassifier(small_model(), LABELS["happy_ending"], pad_id=0)
    assert classifier.label_ids(["happy", "sad", "happy"]).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=r"\['angry'\] are not among this head's labels \['sad', 'happy'\]"):
        classifier.label_ids(["happy", "angry"])
    with pytest.raises(ValueError, match="label indices"):
        train_classifier(classifier, torch.ones(2, 4, dtype=torch.long), torch.tensor([0, 2]),
                         TrainConfig(steps=1, warmup_steps=0))
    with pytest.raises(ValueError, match="label must be one of"):
        story_labels(generate_stories(2), "mood")
    with pytest.raises(ValueError, match="two distinct"):
        LlamaClassifier(small_model(), ("yes", "yes"), pad_id=0)


def test_story_labels_come_from_the_corpus():
    stories = generate_stories(20)
    assert story_labels(stories) == ["happy" if s.happy_ending else "sad" for s in stories]
    assert story_labels(stories, "shape") == [s.shape for s in stories]


def test_long_texts_keep_their_ending():
    tokens = encode_texts(TOKENIZER, ["one two three four five six seven eight nine ten", "one"], max_len=5)
    ids = TOKENIZER.encode("one two three four five six seven eight nine ten")
    assert tokens[0].tolist() == [TOKENIZER.bos_id] + ids[-4:]
    assert tokens[1].tolist()[2:] == [TOKENIZER.pad_id] * 3


def test_the_classifier_learns_a_label_and_reports_its_confusion_matrix():
    torch.manual_seed(0)
    tokens = torch.randint(3, 50, (64, 12))
    labels = (tokens == 7).any(1).long()  # "does the text contain token 7"
    tokens[::3, 8:] = 0  # some padded rows
    labels = (tokens == 7).any(1).long()
    classifier = LlamaClassifier(small_model(), ("no", "yes"), pad_id=0)
    before = evaluate_classifier(classifier, tokens, labels)
    report = train_classifier(classifier, tokens, labels, TrainConfig(steps=60, batch_size=16, lr=3e-3,
                                                                       warmup_steps=5), progress=False)
    after = evaluate_classifier(classifier, tokens, labels)
    assert after.confusion.sum() == 64 and after.confusion.shape == (2, 2)
    assert after.accuracy > max(before.accuracy, 0.85)
    assert len(report.loss) == 60 and report.loss[-1] < report.loss[0]
    assert report.trainable == report.total - 50 * 32  # the LM output head gets no gradient, but is trainable
    assert report.memory["optimizer"] == 2 * 4 * (report.total - 50 * 32)  # Adam's two moments, float32


def test_the_chat_format_masks_the_prompt_out_of_the_loss():
    example = Example("Who is the story about?", "Mia")
    inputs, targets = encode_example(TOKENIZER, example, max_len=64)
    prompt = chat_prompt_ids(TOKENIZER, example.instruction)
    answer = TOKENIZER.encode("Mia") + [TOKENIZER.piece_to_id("<|end|>")]
    assert inputs == (prompt + answer)[:-1]
    assert targets == [-100] * (len(prompt) - 1) + answer
    assert [TOKENIZER.id_to_piece(i) for i in prompt[:2] + prompt[-2:]] == ["<s>", "<|user|>", "<|end|>",
                                                                            "<|assistant|>"]
    # the loss is the mean cross-entropy over the answer tokens only: the prompt's predictions do not count
    model = small_model(vocab=len(TOKENIZER), seq=64)
    x, y = torch.tensor([inputs]), torch.tensor([targets])
    logits, loss = model(x, y)
    answer_positions = torch.tensor(targets) != -100
    expected = F.cross_entropy(logits[0, answer_positions], torch.tensor(answer))
    torch.testing.assert_close(loss, expected)


def test_examples_that_do_not_fit_the_context_are_a_clear_error():
    long = Example("word " * 300, "answer")
    with pytest.raises(ValueError, match=r"needs \d+ tokens .* the model's context is 256"):
        encode_examples(TOKENIZER, [Example("short", "fine"), long], max_len=256)
    with pytest.raises(ValueError, match="no examples"):
        encode_examples(TOKENIZER, [], max_len=256)


def test_story_examples_ask_about_the_story_and_translate_its_lines():
    stories = generate_stories(6)
    examples = story_examples(stories, TOKENIZER, max_len=256)
    kinds = {e.kind for e in examples}
    assert kinds == {"qa_en", "qa_zh", "translate"}
    for e in examples:
        assert len(chat_prompt_ids(TOKENIZER, e.instruction)) + len(TOKENIZER.encode(e.answer)) <= 256
        if e.kind == "translate":
            assert any(e.instruction.endswith(en) and e.answer == zh for s in stories for en, zh in s.lines)
        else:
            story, question = e.instruction.rsplit("\n", 1)
            assert e.answer in story  # answers are spans of the story
    assert len(story_examples(stories, TOKENIZER, max_len=120)) < len(examples)  # long stories left out


def test_instruction_tuning_teaches_exact_answers_full_and_with_lora():
    examples = [Example("What colour is the sky?", "blue", "qa"), Example("Translate: cat", "猫", "translate")]
    for use_lora in (False, True):
        model = small_model(vocab=len(TOKENIZER), seq=32)
        assert exact_match(model, TOKENIZER, examples)["all"] == 0.0
        if use_lora:
            apply_lora(model, ("wq", "wk", "wv", "wo", "w1", "w2", "w3", "output"), rank=8, alpha=16)
        report = train_instructions(model, TOKENIZER, examples,
                                    TrainConfig(steps=80, batch_size=4, lr=1e-2, warmup_steps=5), progress=False)
        assert exact_match(model, TOKENIZER, examples) == {"qa": 1.0, "translate": 1.0, "all": 1.0}
        assert report.tokens > 0 and report.seconds > 0
        if use_lora:
            assert report.trainable < report.total / 4
            assert report.memory["gradients"] < report.memory["weights"] / 4


def test_a_long_prompt_does_not_cut_the_answers_of_the_others():
    torch.manual_seed(0)
    model = small_model(vocab=len(TOKENIZER), seq=136)
    long_instruction = " ".join(["word"] * 60)
    ids = chat_prompt_ids(TOKENIZER, long_instruction)
    assert 136 - 20 < len(ids) < 136  # room for fewer than 20 new tokens
    from llama_course.training.instruct import answer

    alone = answer(model, TOKENIZER, ["Hi"], max_new_tokens=20)
    together = answer(model, TOKENIZER, ["Hi", long_instruction], max_new_tokens=20)
    assert together[0] == alone[0] and len(TOKENIZER.encode(alone[0])) >= 15  # an untrained model rarely stops
    with pytest.raises(ValueError, match="fills the whole context"):
        answer(model, TOKENIZER, [" ".join(["word"] * 70)])


def test_bad_input_to_the_fine_tuning_helpers_gets_clear_errors():
    classifier = LlamaClassifier(small_model(), ("no", "yes"), pad_id=0)
    assert classifier.label_ids([]).dtype == torch.long
    with pytest.raises(ValueError, match="non-empty list of texts"):
        encode_texts(TOKENIZER, [], 16)
    with pytest.raises(ValueError, match="non-empty list of texts"):
        encode_texts(TOKENIZER, "one story", 16)
    from llama_course.training.instruct import answer

    with pytest.raises(TypeError, match="a list of instructions"):
        answer(small_model(vocab=len(TOKENIZER)), TOKENIZER, "Who is it?")


def test_fine_tuning_accumulates_gradients_like_pretraining():
    """One loop for both: two micro-batches of one example step exactly as one batch of the same two examples."""
    tokens, labels = torch.randint(4, 20, (6, 5)), torch.tensor([0, 1, 0, 1, 1, 0])
    weights = []
    for batch_size, grad_accum in ((2, 1), (1, 2)):
        torch.manual_seed(0)
        classifier = LlamaClassifier(small_model(vocab=20), ["a", "b"], pad_id=0)
        config = TrainConfig(steps=2, warmup_steps=0, batch_size=batch_size, grad_accum=grad_accum)
        history = train_classifier(classifier, tokens, labels, config, progress=False)
        assert len(history.loss) == 2 and history.tokens == 2 * 2 * 5
        weights.append(classifier.score.weight.detach().clone())
    torch.testing.assert_close(weights[0], weights[1])


def test_held_out_examples_seen_in_training_are_dropped():
    from llama_course.training.instruct import unseen

    training = [Example("Translate into Chinese: It was sunny.", "天气晴朗。", "translate")]
    held_out = [Example("Translate into Chinese: It was sunny.", "天气晴朗。", "translate"),
                Example("Translate into Chinese: It rained.", "下雨了。", "translate")]
    assert unseen(held_out, training) == held_out[1:]
