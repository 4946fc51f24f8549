"""llama_course.evaluation: log-likelihood scoring against a direct computation, prompts, metrics against
known values, the built-in benchmark, the scaling arithmetic, and the evaluate command."""

import math

import pytest
import torch
import torch.nn.functional as F

from llama_course.cli import main
from llama_course.config import LlamaConfig
from llama_course.data.corpus import generate_stories
from llama_course.data.tokenizer import course_tokenizer
from llama_course.evaluation import metrics, scaling
from llama_course.evaluation.benchmark import BenchmarkResult, MultipleChoice, story_benchmark
from llama_course.evaluation.induction import induction_scores, repeated_tokens
from llama_course.evaluation.prompts import Template, draw_shots, few_shot_prompt
from llama_course.evaluation.scoring import Continuation, choose, loglikelihoods, perplexity, split_ids, wilson_interval
from llama_course.evaluation.tasks import name_pairs, story_summary, summary_examples
from llama_course.files import CourseError
from llama_course.model import Llama
from llama_course.training.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def tokenizer():
    return course_tokenizer()


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=4096, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=48)).eval()


@pytest.fixture(scope="module")
def stories():
    return generate_stories(40, seed=7)


def test_split_ids_tokenizes_the_continuation_as_it_follows_the_context(tokenizer):
    head, tail = split_ids(tokenizer, "Answer:", " gray kite")
    assert head[0] == tokenizer.bos_id and tokenizer.decode(tail).strip() == "gray kite"
    assert head + tail == tokenizer.encode("Answer: gray kite", bos=True)
    with pytest.raises(ValueError, match="non-empty"):
        split_ids(tokenizer, "Answer:", "")


def test_loglikelihoods_equal_a_direct_computation_whatever_the_batching(model, tokenizer):
    pairs = [("Once upon a time", " there was a cat"), ("Mia went to the park.", " She"), ("Hi", " Tom felt happy.")]
    got = loglikelihoods(model, tokenizer, pairs, batch_size=2)
    assert got == loglikelihoods(model, tokenizer, pairs, batch_size=1)
    for (context, continuation), c in zip(pairs, got, strict=True):
        head, tail = split_ids(tokenizer, context, continuation)
        ids = torch.tensor([head + tail])
        with torch.no_grad():
            logprobs = F.log_softmax(model(ids[:, :-1]), -1)[0]
        expected = sum(logprobs[len(head) - 1 + i, t].item() for i, t in enumerate(tail))
        assert c.logprob == pytest.approx(expected, abs=1e-4)
        assert (c.n_tokens, c.n_chars) == (len(tail), len(continuation))
    with pytest.raises(TypeError, match="list of"):
        loglikelihoods(model, tokenizer, ("a", "b"))


def test_a_long_context_keeps_its_last_tokens(model, tokenizer):
    long = " ".join(["The cat sat on the mat."] * 30)
    (c,) = loglikelihoods(model, tokenizer, [(long, " Tom")])
    head, tail = split_ids(tokenizer, long, " Tom")
    kept = torch.tensor([(head + tail)[-49:]])  # the model's 48 inputs and the last target
    with torch.no_grad():
        logprobs = F.log_softmax(model(kept[:, :-1]), -1)[0]
    expected = sum(logprobs[48 - len(tail) + i, t].item() for i, t in enumerate(tail))
    assert len(head) > 48 and c.logprob == pytest.approx(expected, abs=1e-4)


def test_normalisation_can_change_the_choice():
    short, long = Continuation(-3.0, 1, 3, False), Continuation(-4.0, 4, 20, False)
    assert choose([short, long], "sum") == 0
    assert choose([short, long], "token") == 1 and choose([short, long], "char") == 1
    with pytest.raises(ValueError, match="normalise"):
        short.score("bytes")


def test_perplexity_is_exp_of_the_mean_loss(model, tokenizer):
    text = "Mia went to the park. She saw a dog."
    ids = torch.tensor([tokenizer.encode(text, bos=True)])
    with torch.no_grad():
        _, loss = model(ids[:, :-1], ids[:, 1:])
    assert perplexity(model, tokenizer, [text]) == pytest.approx(math.exp(loss.item()), rel=1e-4)
    with pytest.raises(ValueError, match="non-empty"):
        perplexity(model, tokenizer, "a text")


def test_wilson_interval():
    low, high = wilson_interval(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(50, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_few_shot_prompt_and_shots():
    template = Template("Sentence: ", "Name:")
    prompt = few_shot_prompt([("Tom ran.", "Tom")], "Mia sat.", template)
    assert prompt == "Sentence: Tom ran.\nName: Tom\n\nSentence: Mia sat.\nName:"
    assert few_shot_prompt([], "Mia sat.", template) == "Sentence: Mia sat.\nName:"
    pool = [(f"s{i}", f"t{i}") for i in range(5)]
    shots = draw_shots(pool, 4, seed=1, exclude="s2")
    assert len(shots) == 4 and ("s2", "t2") not in shots and shots == draw_shots(pool, 4, seed=1, exclude="s2")
    with pytest.raises(CourseError, match="cannot draw"):
        draw_shots(pool, 5, seed=0, exclude="s0")


def test_metrics_against_known_values():
    assert metrics.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100)
    assert metrics.bleu(["a b"], ["c d e f"]) == 0
    assert metrics.bleu(["小猫坐在垫子上"], ["小猫坐在垫子上"], chinese=True) == pytest.approx(100)
    assert metrics.chrf(["kitten"], ["kitten"]) == pytest.approx(100) and 0 < metrics.chrf(["kitten"], ["sitting"]) < 50
    scores = metrics.rouge(["Mia loses a ball"], ["Mia loses something and looks for it"])
    assert scores["rouge1"] == pytest.approx(100 * 2 * (2 / 4) * (2 / 7) / (2 / 4 + 2 / 7))  # mia, lose(s)
    with pytest.raises(CourseError, match="Chinese"):
        metrics.rouge(["Mia"], ["米娅"])
    assert metrics.rouge(["米娅 Mia"], ["Mia"])["rouge1"] == pytest.approx(100)
    with pytest.raises(ValueError, match="as many"):
        metrics.chrf(["a"], ["a", "b"])
    assert metrics.qa_exact_match("The gray kite.", "gray kite") == 1.0
    assert metrics.qa_f1("kite", "gray kite") == pytest.approx(2 / 3)
    assert metrics.qa_f1("莫莉", "莫丽") == pytest.approx(0.5)
    assert metrics.qa_scores(["Molly", "x"], ["Molly", "Tom"]) == {"exact_match": 50.0, "f1": 50.0}


def test_story_benchmark_items(stories):
    items = story_benchmark(stories, per_kind=10, seed=0)
    assert [i.kind for i in items] == ["qa"] * 10 + ["ending"] * 10
    assert items == story_benchmark(stories, per_kind=10, seed=0)
    for item in items:
        assert len(item.choices) == 4 and len(set(item.choices)) == 4
    by_text = {s.text: s for s in stories}
    for item in items[:10]:
        story = by_text[item.context.split("\nQuestion: ")[0]]
        assert (item.context.split("\nQuestion: ")[1][:-len("\nAnswer:")], item.choices[item.answer][1:]) in story.qa
    for item in items[10:]:
        story = next(s for s in stories if s.text.startswith(item.context))
        assert story.text == item.context + item.choices[item.answer]
    with pytest.raises(CourseError, match="at least"):
        story_benchmark(stories[:3])


def test_benchmark_result_counts_and_tables():
    items = [MultipleChoice("c", (" a", " bbbb"), 1, "qa"), MultipleChoice("c", (" a", " bbbb"), 0, "ending")]
    scores = [[Continuation(-1.0, 1, 2, True), Continuation(-2.0, 4, 5, False)]] * 2
    result = BenchmarkResult(items, scores, generated=["bbbb"], perplexity=1.5)
    assert result.correct("qa", "sum") == [False] and result.correct("qa", "token") == [True]
    assert result.accuracy("ending", "sum") == 1.0
    table = result.table()
    assert "exact match (generated)" in table and "1.50" in table and len(table.splitlines()) == 9


def test_story_tasks(stories, tokenizer):
    story = stories[0]
    summary = story_summary(story)
    assert summary.startswith(story.main_character) and ("happily" in summary) == story.happy_ending
    examples = summary_examples(stories, tokenizer, 256)
    assert examples and all(e.kind == "summary" for e in examples)
    assert all(name in text for text, name in name_pairs(stories))


def test_induction_scores_shapes(model):
    tokens = repeated_tokens(model, length=20, batch=2)
    assert torch.equal(tokens[:, :20], tokens[:, 20:])
    scores, loss = induction_scores(model, tokens)
    assert scores.shape == (2, 4) and ((scores >= 0) & (scores <= 1)).all() and loss.shape == (39,)
    with pytest.raises(ValueError, match="do not fit"):
        repeated_tokens(model, length=25)


def test_scaling_arithmetic():
    x = [1e3, 1e4, 1e5]
    a, b = scaling.fit_power_law(x, [5 * v ** -0.3 for v in x])
    assert (a, b) == pytest.approx((5, -0.3))
    with pytest.raises(ValueError):
        scaling.fit_power_law([1], [2])
    points = [(1, 5.0, 0), (2, 4.0, 0), (2, 4.5, 1), (3, 4.2, 1), (4, 3.0, 1)]
    assert scaling.frontier(points) == [(1, 5.0, 0), (2, 4.0, 0), (4, 3.0, 1)]
    assert scaling.training_flops(7e9, 1e12) == pytest.approx(4.2e22)
    # 7B on 1T tokens vs 13B on 1T: the small one is cheaper from the first token (it also trained cheaper)
    assert scaling.break_even_tokens((7e9, 1e12), (13e9, 1e12)) == 0
    # 7B on 2T vs 13B on 1T: 6*(14e21 - 13e21) / (2 * 6e9) = 5e11 tokens served
    assert scaling.break_even_tokens((7e9, 2e12), (13e9, 1e12)) == pytest.approx(5e11)


@pytest.mark.slow  # a subprocess or a kernel: seconds
def test_evaluate_command_prints_the_table(capsys):
    assert main(["evaluate", "--items", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "the course model" in out and "acc (char)" in out and "perplexity" in out


def test_evaluate_refuses_a_checkpoint_without_tokenizer(model, tmp_path):
    save_checkpoint(tmp_path / "bare", model)
    with pytest.raises(SystemExit, match="no tokenizer"):
        main(["evaluate", "--checkpoint", str(tmp_path / "bare")])


def test_notebook_checks_pass_on_the_references_and_fail_on_mistakes(capsys):
    from llama_course.classroom.exercises import ExerciseError
    from llama_course.classroom.exercises import evaluation as exercises

    exercises.check_choice_logprob(exercises.choice_logprob_reference)
    exercises.check_chrf(exercises.chrf_reference)
    assert capsys.readouterr().out.count("✓") == 2

    def off_by_one(model, context_ids, continuation_ids):  # scores each token at its own position
        ids = torch.tensor([list(context_ids) + list(continuation_ids)])
        with torch.no_grad():
            logprobs = F.log_softmax(model(ids), -1)[0]
        return float(sum(logprobs[len(context_ids) + i, t] for i, t in enumerate(continuation_ids)))

    with pytest.raises(ExerciseError, match="expected"):
        exercises.check_choice_logprob(off_by_one)
    with pytest.raises(ExerciseError, match="sacrebleu says"):
        exercises.check_chrf(lambda h, r: exercises.chrf_reference(h, r, beta=1.0))
    with pytest.raises(ExerciseError, match="not written yet"):
        exercises.check_chrf(lambda h, r: (_ for _ in ()).throw(NotImplementedError))
