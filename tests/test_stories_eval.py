"""The evaluation set of story clusters (testkit/stories_eval.py) and the story index's quality on it.

The set's own properties first (size, every edit and hard-negative kind present, labels consistent with
how each article was made, ZWNJ and Persian digits, deterministic by seed); then a 300-article slice
through StoryIndex on SQLite, assigned as a crawl does it (crawl order, batches) and rebuilt: pair
precision >= 0.98 and recall >= 0.95, and each hard case on its own. `make bench` measures the full
2,000-article set and the 100,000-article speed (bench/stories.py)."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.stories import crawl_engine, store, stored_assignments
from testkit.stories_eval import (
    EDITS,
    NEGATIVES,
    SITE_NAME,
    ZWNJ,
    build,
    build_set,
    expected_copy_of,
    pair_scores,
    stream,
)

SLICE = 300


@pytest.fixture(scope="module")
def full():
    return build_set(2000, seed=0)


def by_key(made) -> dict:
    return {(a["site"], a["news_code"]): a for a in made.articles}


# -- the set ------------------------------------------------------------------------------------------
def test_size_fields_and_unique_keys(full):
    assert len(full.articles) == 2000
    keys = [(a["site"], a["news_code"]) for a in full.articles]
    assert len(set(keys)) == 2000 and set(keys) == set(full.truth)
    for a in full.articles:
        assert set(a) == {"site", "news_code", "title", "body", "published_at", "source"}
        assert a["title"] and a["body"] and a["news_code"].isdigit()
        when = a["published_at"]
        assert when is None or re.fullmatch(r"2026-1[01]-\d\dT\d\d:\d\d:00\+03:30", when), when
    stories = Counter(full.truth.values())
    assert 600 < len(stories) < 1400  # many stories of one article, many of several
    assert max(stories.values()) <= 8


def test_every_edit_and_hard_negative_kind_is_there(full):
    made = Counter(edit for edits in full.edits.values() for edit in edits)
    assert set(made) == set(EDITS) == {"intro", "headline", "truncated", "dropped", "moved", "added",
                                       "zwnj_space", "zwnj_removed"}
    assert min(made.values()) >= 60
    negatives = Counter(kind for *_, kind in full.negatives)
    assert set(negatives) == set(NEGATIVES) == {"same_topic", "daily", "daily_city", "independent",
                                                "outside_window"}
    assert min(negatives.values()) >= 20
    assert set(full.kinds.values()) == {"original", "copy", "single", "daily", "same_topic", "independent",
                                        "rerun"}
    assert sum(1 for k in full.edits if full.copied_from[k] != full.origin[k]) >= 20  # copies of copies


def test_labels_agree_with_how_each_article_was_made(full):
    articles = by_key(full)
    for key in full.edits:  # a copy: its parent's and its origin's story, published after its origin
        assert full.truth[key] == full.truth[full.copied_from[key]] == full.truth[full.origin[key]]
        assert key[0] != full.origin[key][0]  # another site
        if key in full.undated:
            assert articles[key]["published_at"] is None
        elif key in full.early:  # minutes before, crediting the agency whose article it copies
            assert articles[key]["published_at"] < articles[full.origin[key]]["published_at"]
            assert full.credited[key] == full.origin[key] == full.copied_from[key]
        else:
            assert articles[key]["published_at"] > articles[full.origin[key]]["published_at"]
    assert 20 <= len(full.early) <= 80 and 10 <= len(full.undated) <= 60
    assert sum(a["published_at"] is None for a in full.articles) == len(full.undated)
    for a, b, kind in full.negatives:
        assert full.truth[a] != full.truth[b], kind
    for a, b, kind in full.negatives:
        days = [articles[k]["published_at"][:10] for k in (a, b)]
        if kind == "daily":  # the same site's template on consecutive Tehran days
            assert a[0] == b[0] and days[0] < days[1]
        if kind == "daily_city":  # the same site's template for two cities, the same day
            assert a[0] == b[0] and days[0] == days[1] and articles[a]["title"] != articles[b]["title"]
        if kind == "outside_window":  # the same text 9 to 14 days later
            first, later = (datetime.fromisoformat(articles[k]["published_at"]) for k in (a, b))
            assert timedelta(days=9) <= later - first <= timedelta(days=14)
    by_label = defaultdict(list)
    for key, label in full.truth.items():
        by_label[label].append(key)
    for label, keys in by_label.items():  # one first article per story, and copies only of it
        firsts = [k for k in keys if k not in full.edits]
        assert len(firsts) == 1, label
        if full.kinds[firsts[0]] == "daily":  # a daily item's copies are that day's news
            day = articles[firsts[0]]["published_at"][:10]
            assert {articles[k]["published_at"][:10] for k in keys} == {day}


def test_persian_text_with_zwnj_persian_digits_and_realistic_lengths(full):
    bodies = [a["body"] for a in full.articles]
    assert sum(ZWNJ in b for b in bodies) > 1500
    assert all(not re.search(r"[0-9]", a["body"] + a["title"]) for a in full.articles)
    assert sum(bool(re.search("[۰-۹]", b)) for b in bodies) > 1000
    assert "می‌شود" in "".join(bodies) and "رئیس‌جمهور" in "".join(bodies)
    words = [len(b.split()) for b in bodies]
    assert min(words) >= 100 and max(words) <= 850
    assert 250 <= statistics.median(words) <= 450
    assert sum(150 <= w <= 800 for w in words) >= 0.97 * len(words)
    # agency boilerplate shared by unrelated stories
    assert len({full.truth[k] for k, a in by_key(full).items() if "انتهای پیام" in a["body"]}) > 200


def test_zwnj_edits_and_credits(full):
    articles = by_key(full)
    for key, edits in full.edits.items():
        copy, parent = articles[key], articles[full.copied_from[key]]
        for edit, by in (("zwnj_removed", ""), ("zwnj_space", " ")):
            if edits == (edit,) and ZWNJ in parent["body"]:  # the same first paragraph, but for its ZWNJs
                assert ZWNJ not in copy["body"]
                assert copy["body"].split("\n\n")[0] == parent["body"].split("\n\n")[0].replace(ZWNJ, by)
    cut = [(len(articles[k]["body"]), len(articles[full.copied_from[k]]["body"]))
           for k, edits in full.edits.items() if edits == ("truncated",)]
    assert len(cut) > 30 and sum(c for c, _ in cut) < 0.9 * sum(p for _, p in cut)  # footers differ
    sources = Counter(a["source"] for a in full.articles)
    assert {"مهر", "ایسنا", "تسنیم", "باشگاه خبرنگاران جوان"} <= set(sources)
    assert all(articles[k]["source"] is None for k, kind in full.kinds.items() if kind == "original")
    # a copy's credit names the site it took the text from: its story's first article's, mostly
    credited = [k for k in full.edits if articles[k]["source"]]
    assert len(credited) > 300
    assert all(articles[k]["source"] == SITE_NAME[full.credited[k][0]] for k in credited)
    assert all(full.truth[k] == full.truth[full.credited[k]] for k in credited)
    assert sum(full.credited[k] == full.origin[k] for k in credited) > 0.9 * len(credited)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_small_set_of_any_seed_has_every_kind(seed):
    made = build_set(SLICE, seed=seed)
    assert len(made.articles) == SLICE
    assert {e for edits in made.edits.values() for e in edits} == set(EDITS)
    assert {kind for *_, kind in made.negatives} == set(NEGATIVES)


def test_deterministic_by_seed():
    assert build(SLICE, seed=3) == build(SLICE, seed=3)
    assert build(SLICE, seed=3)[0] != build(SLICE, seed=4)[0]
    streamed = list(stream(500, seed=3))
    assert len(streamed) == 500 and len({(a["site"], a["news_code"]) for a in streamed}) == 500
    assert streamed[:50] == list(stream(50, seed=3))


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=30))
def test_pair_scores_count_what_enumerating_the_pairs_counts(labels):
    truth = {("s", str(i)): t for i, (t, _) in enumerate(labels)}
    predicted = {("s", str(i)): p for i, (_, p) in enumerate(labels)}
    pairs = list(combinations(truth, 2))
    both = sum(truth[a] == truth[b] and predicted[a] == predicted[b] for a, b in pairs)
    said = sum(predicted[a] == predicted[b] for a, b in pairs)
    true = sum(truth[a] == truth[b] for a, b in pairs)
    assert pair_scores(truth, predicted) == ((both / said) if said else 1.0, (both / true) if true else 1.0)


def test_pair_scores_by_hand():
    truth = {("a", "1"): "x", ("a", "2"): "x", ("b", "1"): "x", ("b", "2"): "y", ("c", "1"): "z"}
    # predicted: {a1, a2} and {b1, b2, c1}: true pairs a1a2 a1b1 a2b1; said a1a2 b1b2 b1c1 b2c1
    predicted = {("a", "1"): "p", ("a", "2"): "p", ("b", "1"): "q", ("b", "2"): "q", ("c", "1"): "q"}
    assert pair_scores(truth, predicted) == (1 / 4, 1 / 3)
    assert pair_scores(truth, {k: "all" for k in truth}) == (3 / 10, 1.0)
    assert pair_scores(truth, {k: k[0] + k[1] for k in truth}) == (1.0, 0.0)


# -- the story index on a slice -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    """The 300-article slice assigned in crawl order (batches of 50) and then rebuilt: story ids and
    copy_of of both runs."""
    from newscrawl.stories import StoryIndex

    made = build_set(SLICE, seed=0)
    url = f"sqlite:///{tmp_path_factory.mktemp('stories')}/eval.sqlite3"
    store(url, made.articles)
    engine = crawl_engine(url)
    index = StoryIndex(engine)
    assigned = {}
    for start in range(0, SLICE, 50):
        assigned |= index.assign(made.articles[start:start + 50])
    incremental = stored_assignments(engine)
    assert index.rebuild(made.articles) == SLICE
    rebuilt = stored_assignments(engine)
    engine.dispose()
    assert {k: a.story_id for k, a in assigned.items()} == {k: v[0] for k, v in incremental.items()}
    return made, {"assign": incremental, "rebuild": rebuilt}


@pytest.mark.parametrize("how", ["assign", "rebuild"])
def test_pair_precision_and_recall_on_the_slice(clustered, how):
    made, runs = clustered
    precision, recall = pair_scores(made.truth, {k: v[0] for k, v in runs[how].items()})
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)


@pytest.mark.parametrize("how", ["assign", "rebuild"])
@pytest.mark.parametrize("edit", EDITS)
def test_a_copy_with_one_edit_is_in_its_originals_story(clustered, how, edit):
    made, runs = clustered
    story = runs[how]
    copies = [k for k, edits in made.edits.items() if edits == (edit,)]
    assert len(copies) >= 3
    apart = [k for k in copies if story[k][0] != story[made.copied_from[k]][0]]
    assert not apart, (edit, apart)


@pytest.mark.parametrize("how", ["assign", "rebuild"])
@pytest.mark.parametrize("kind", NEGATIVES)
def test_hard_negatives_are_two_stories(clustered, how, kind):
    """Same topic and people; a daily template on the next day, or for another city; one event told twice
    independently; the same text republished beyond the window."""
    made, runs = clustered
    story = runs[how]
    pairs = [(a, b) for a, b, k in made.negatives if k == kind]
    assert len(pairs) >= 3
    merged = [(a, b) for a, b in pairs if story[a][0] == story[b][0]]
    assert not merged, (kind, merged)


@pytest.mark.parametrize("how", ["assign", "rebuild"])
def test_copy_of_names_the_first_article_of_the_story(clustered, how):
    """A copy points at the article of the site it credits, else at its story's first article; first
    articles point at nothing (in the stories that are not wrongly merged: the tests above catch those)."""
    made, runs = clustered
    story = runs[how]
    labels = defaultdict(set)  # predicted story -> true labels in it: a wrong merge fails another test
    for key, (story_id, _) in story.items():
        labels[story_id].add(made.truth[key])
    firsts = [k for k in made.truth if k not in made.edits and len(labels[story[k][0]]) == 1]
    assert len(firsts) > 100
    assert not [k for k in firsts if story[k][1] is not None]
    copies = [k for k in made.edits if len(labels[story[k][0]]) == 1]
    assert len(copies) > 100
    wrong = [(k, story[k][1], expected_copy_of(made, k)) for k in copies
             if story[k][1] != expected_copy_of(made, k)]
    assert not wrong, wrong


@pytest.mark.parametrize("how", ["assign", "rebuild"])
def test_an_early_or_undated_copy_is_still_a_copy_of_its_original(clustered, how):
    """A copy dated minutes before its original (the republisher's clock) that credits the agency still
    points at the agency's article; a copy without a date is in its original's story."""
    made, runs = clustered
    story = runs[how]
    assert len(made.early) >= 2 and len(made.undated) >= 2
    for key in made.early:
        origin = made.origin[key]
        assert story[key] == (story[origin][0], f"{origin[0]}:{origin[1]}")
        assert story[origin][1] is None
    for key in made.undated:
        assert story[key][0] == story[made.copied_from[key]][0]
