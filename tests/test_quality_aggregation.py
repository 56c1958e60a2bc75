"""Tests for issue 16's aggregation: model choice, weighted ROVER, routing rules, the CLI."""

from __future__ import annotations

import io
from pathlib import Path

from bench.quality_crowds import fixed_overlap, make_label_crowd, make_text_crowd, text_answers
from bot.aggregate import main
from bot.aggregation import rover_transcript
from bot.dawid_skene import DawidSkeneResult, Settings, index
from bot.model_choice import best_dawid_skene, choose_model
from bot.overlap import needs_more
from bot.quality import word_error_rate
from bot.text_consensus import TextAnswer, weighted_rover_batch
from bot.votes import Vote


def _votes(rows: list[tuple[int, int, int]]) -> dict[int, list[Vote]]:
    votes: dict[int, list[Vote]] = {}
    for item, worker, label in rows:
        votes.setdefault(item, []).append(Vote(worker, frozenset({str(label)})))
    return votes


def _accuracy(fitted: DawidSkeneResult, truth: dict[int, int]) -> float:
    return sum(int(next(iter(f.answer))) == truth[i] for i, f in fitted.items.items()) / len(truth)


def test_imbalanced_crowd_chooses_one_coin_and_colluders_a_confusion_model():
    imbalanced = make_label_crowd("imbalanced", 0)
    choice = choose_model(index(_votes(fixed_overlap(imbalanced, 0)), {}), Settings())
    assert choice.model == "one-coin"
    colluders = make_label_crowd("colluders", 0)
    choice = choose_model(index(_votes(fixed_overlap(colluders, 0)), {}), Settings())
    assert choice.model in ("full", "shrunk")


def test_chosen_model_beats_the_full_model_on_an_imbalanced_crowd():
    crowd = make_label_crowd("imbalanced", 1)
    votes = _votes(fixed_overlap(crowd, 1))
    from bot.dawid_skene import dawid_skene

    chosen = _accuracy(best_dawid_skene(votes), crowd.truth)
    full = _accuracy(dawid_skene(votes), crowd.truth)
    assert chosen >= full + 0.03


def test_weighted_rover_halves_the_error_of_plain_rover_on_spammy_transcripts():
    crowd = make_text_crowd("spammy", 0)
    by_item: dict[int, list[TextAnswer]] = {}
    for item, worker, text in text_answers(crowd, 0):
        by_item.setdefault(item, []).append(TextAnswer(worker, text))
    weighted = weighted_rover_batch(by_item)
    plain = {i: rover_transcript([a.text for a in g]).text for i, g in by_item.items()}
    wer_weighted = sum(word_error_rate(crowd.truth[i], weighted.items[i].text) for i in crowd.truth)
    wer_plain = sum(word_error_rate(crowd.truth[i], plain[i]) for i in crowd.truth)
    assert wer_weighted < wer_plain / 2
    spammers = [w for w, t in crowd.typists.items() if t.spammer]
    honest = [w for w, t in crowd.typists.items() if not t.spammer]
    assert max(weighted.worker_accuracy[w] for w in spammers) < min(
        weighted.worker_accuracy[w] for w in honest
    )


def test_another_answer_only_while_uncertain_and_under_the_most():
    assert needs_more(0.99, 1, threshold=0.9, least=2, most=5)
    assert needs_more(0.5, 3, threshold=0.9, least=2, most=5)
    assert not needs_more(0.95, 2, threshold=0.9, least=2, most=5)
    assert not needs_more(0.5, 5, threshold=0.9, least=2, most=5)


def test_aggregate_command_reads_crowdkit_long_format(tmp_path: Path):
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "task,worker,label\nt1,a,cat\nt1,b,cat\nt1,c,dog\nt2,a,dog\nt2,b,dog\nt2,c,cat\n"
    )
    gold = tmp_path / "gold.csv"
    gold.write_text("task,label\nt2,cat\n")
    out = io.StringIO()
    assert main([str(answers), "--gold", str(gold)], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "task,label,confidence"
    assert lines[2] == "t2,cat,1.0000"  # a gold task keeps its known answer
    # Only c was right on the gold task, so c's "dog" outweighs a and b on t1; without gold the
    # majority wins.
    assert lines[1].startswith("t1,dog,")
    plain = io.StringIO()
    assert main([str(answers)], plain) == 0
    assert plain.getvalue().splitlines()[1].startswith("t1,cat,")


def test_aggregate_command_votes_texts_and_refuses_a_bad_header(tmp_path: Path, capsys):
    answers = tmp_path / "texts.csv"
    answers.write_text("task,worker,text\nt1,a,hello world\nt1,b,hello word\nt1,c,Hello world!\n")
    out = io.StringIO()
    assert main([str(answers), "--type", "text"], out) == 0
    assert out.getvalue().splitlines()[1].startswith("t1,hello world,")
    assert main([str(answers), "--type", "label"], io.StringIO()) == 2
    assert "missing column(s) label" in capsys.readouterr().err


def test_the_pooled_model_learns_a_preference_the_whole_crowd_shares():
    crowd = make_label_crowd("biased", 0)
    votes = _votes(fixed_overlap(crowd, 0))
    from bot.dawid_skene import dawid_skene

    pooled = _accuracy(dawid_skene(votes, model="pooled"), crowd.truth)
    assert pooled >= _accuracy(dawid_skene(votes), crowd.truth) + 0.01
    assert pooled >= _accuracy(dawid_skene(votes, model="one-coin"), crowd.truth) + 0.05
    choice = choose_model(index(votes, {}), Settings())
    assert choice.model == "pooled"


def test_a_worker_of_one_answer_looks_like_the_crowd_in_the_pooled_model():
    from bot.dawid_skene import POOL_ANSWERS, fit

    # Workers 1-4 answer "a" for everything; worker 5 answers once.
    votes = {item: [Vote(w, frozenset({"a"})) for w in (1, 2, 3, 4)] for item in range(1, 9)}
    votes[9] = [Vote(1, frozenset({"b"})), Vote(5, frozenset({"b"}))]
    problem = index(votes, {})
    fitted = fit(problem, "pooled", Settings())
    newcomer = fitted.confusions[problem.worker_ids.index(5)]
    regular = fitted.confusions[problem.worker_ids.index(2)]
    assert POOL_ANSWERS > 1
    # Both rows for class "a" are mostly "a", as the crowd's is.
    assert newcomer[0][0] > 0.8
    assert regular[0][0] > 0.9


def test_model_choice_holds_out_answers_of_items_with_two():
    from bot.model_choice import _held_out

    votes = {item: [Vote(1, frozenset({"a"})), Vote(2, frozenset({"a"}))] for item in range(1, 5)}
    training, held = _held_out(index(votes, {}), 0)
    assert len(held) == 4
    assert all(len(observed) == 1 for observed in training.observations)
