"""Check SIPAS scoring against hand-computed figures and a plain recount of raw answers."""

import math
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.sipas import (
    ELEMENT_KEYS,
    ELEMENT_PAIRS,
    OVERALL_KEY,
    RATING_KEYS,
    Z_95,
    AnswerCounts,
    Indicator,
    Judgement,
    PairCounts,
    Share,
    Status,
    judge,
    judge_index,
    judge_indicator,
    judge_share,
    pool,
    score,
    wilson_interval,
)

WISH_CODES = ("facilities", "attitude", "guidance", "speed", "transparency", "online", "feedback")

Raw = dict[str, Any]

PROPERTY = settings(max_examples=200, deadline=None)


def raw(
    q1: int | None = 5,
    q2: int | None = 5,
    q3: int | None = 5,
    q4: int | None = 5,
    q5: int | None = 5,
    q6: int | None = 5,
    q7: str | None = None,
    q8: tuple[str, ...] = (),
) -> Raw:
    """Return one raw response; None stands for N/A or no answer."""
    return {"q1": q1, "q2": q2, "q3": q3, "q4": q4, "q5": q5, "q6": q6, "q7": q7, "q8": q8}


def pair_counts_of(responses: list[Raw]) -> dict[tuple[str, str], PairCounts]:
    """Count, for each pair of elements, how the responses answered both."""
    pairs = {}
    for first, second in ELEMENT_PAIRS:
        both = [r for r in responses if r[first] is not None and r[second] is not None]
        pairs[(first, second)] = PairCounts(
            len(both),
            sum(1 for r in both if r[first] >= 4),
            sum(1 for r in both if r[second] >= 4),
            sum(1 for r in both if r[first] >= 4 and r[second] >= 4),
        )
    return pairs


def counts_of(responses: list[Raw], with_pairs: bool = True) -> AnswerCounts:
    """Tally raw responses the way the GROUP BY query does."""
    ratings = {key: Counter(r[key] for r in responses if r[key] is not None) for key in RATING_KEYS}
    integrity = Counter(r["q7"] for r in responses if r["q7"] is not None)
    wishes = Counter(code for r in responses for code in r["q8"])
    return AnswerCounts(
        responses=len(responses),
        ratings=ratings,
        integrity=integrity,
        wishes=wishes,
        wish_respondents=sum(1 for r in responses if r["q8"]),
        pairs=pair_counts_of(responses) if with_pairs else None,
    )


def wilson_by_textbook(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Return the Wilson interval in percent, written as in the textbooks (with p-hat)."""
    p = successes / n
    denominator = 1 + z**2 / n
    centre = p + z**2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return 100 * (centre - spread) / denominator, 100 * (centre + spread) / denominator


def assert_close(actual: float | None, expected: float | None) -> None:
    """Assert two optional figures agree to floating-point noise."""
    if expected is None:
        assert actual is None
    else:
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-12)


def present(interval: tuple[float, float] | None) -> tuple[float, float]:
    """Return an interval that the test expects to exist."""
    assert interval is not None
    return interval


# --- Share and Wilson interval, by hand --------------------------------------------------


def test_three_of_four_satisfied_is_75_percent() -> None:
    share = Share(valid=4, satisfied=3)
    assert share.share == 75.0


def test_share_is_exact_where_the_fraction_is() -> None:
    assert Share(valid=20, satisfied=17).share == 85.0
    assert Share(valid=3, satisfied=1).share == 100 / 3


def test_share_without_valid_answers_is_undefined() -> None:
    share = Share(valid=0, satisfied=0)
    assert share.share is None
    assert share.interval is None
    assert share.ci_low is None
    assert share.ci_high is None


@pytest.mark.parametrize(("valid", "satisfied"), [(3, 4), (-1, 0), (2, -1)])
def test_share_refuses_impossible_counts(valid: int, satisfied: int) -> None:
    with pytest.raises(ValueError):
        Share(valid=valid, satisfied=satisfied)


def test_wilson_interval_of_8_of_10() -> None:
    low, high = present(wilson_interval(8, 10))
    # Worked out to 40 digits with decimal arithmetic from the closed formula.
    assert low == pytest.approx(49.01568467207234, abs=1e-9)
    assert high == pytest.approx(94.33190520193067, abs=1e-9)
    assert (low, high) == pytest.approx(wilson_by_textbook(8, 10), abs=1e-9)
    share = Share(valid=10, satisfied=8)
    assert (share.ci_low, share.ci_high) == (low, high)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, score method without correction.
        (81, 263, 25.53, 36.62),
        (15, 148, 6.24, 16.05),
        (0, 20, 0.0, 16.11),
        (1, 29, 0.61, 17.18),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, low: float, high: float
) -> None:
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=0.005)


def test_wilson_interval_reaches_exactly_0_and_100_at_the_extremes() -> None:
    low, high = present(wilson_interval(0, 20))
    assert low == 0.0
    assert high == pytest.approx(16.113012549493323, abs=1e-9)
    low, high = present(wilson_interval(29, 29))
    assert low == pytest.approx(88.30264055344441, abs=1e-9)
    assert high == 100.0


def test_wilson_interval_needs_answers() -> None:
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(("successes", "n"), [(11, 10), (-1, 10), (0, -1)])
def test_wilson_interval_refuses_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n)


def test_wilson_interval_uses_z_95_by_default() -> None:
    assert Z_95 == 1.96
    assert wilson_interval(8, 10) == wilson_interval(8, 10, z=1.96)
    narrower = present(wilson_interval(8, 10, z=1.0))
    assert narrower == pytest.approx(wilson_by_textbook(8, 10, z=1.0), abs=1e-9)


# --- Scoring one scope, by hand ------------------------------------------------------------


def test_not_applicable_answers_are_left_out() -> None:
    responses = [raw(q4=5), raw(q4=None), raw(q4=4), raw(q4=2), raw(q4=None)]
    q4 = score(counts_of(responses)).elements["q4"]
    assert (q4.valid, q4.satisfied) == (3, 2)
    assert q4.share == 200 / 3


def test_element_without_valid_answers_is_undefined_and_left_out_of_the_index() -> None:
    responses = [raw(q1=5, q5=None), raw(q1=2, q5=None), raw(q1=3, q5=None), raw(q1=4, q5=None)]
    scores = score(counts_of(responses))
    assert scores.elements["q5"] == Share(valid=0, satisfied=0)
    assert scores.elements["q5"].share is None
    # q1 = 50, q2..q4 = 100; q5 is not counted as 0.
    assert scores.sipas_index == 87.5


def test_index_is_the_plain_mean_of_the_defined_elements() -> None:
    counts = AnswerCounts(
        responses=4,
        ratings={
            "q1": {5: 2, 4: 1, 1: 1},  # 3 of 4 = 75
            "q2": {4: 1, 3: 1},  # 1 of 2 = 50
            "q3": {5: 4},  # 4 of 4 = 100
            "q5": {4: 1, 2: 2, 1: 1},  # 1 of 4 = 25; q4 has no valid answer
        },
    )
    scores = score(counts)
    assert [scores.elements[key].share for key in ELEMENT_KEYS] == [75.0, 50.0, 100.0, None, 25.0]
    assert scores.sipas_index == 62.5
    defined = [(3, 4), (1, 2), (4, 4), (1, 4)]
    bounds = [wilson_by_textbook(s, n) for s, n in defined]
    assert scores.sipas_interval == pytest.approx(
        (sum(b[0] for b in bounds) / 4, sum(b[1] for b in bounds) / 4), abs=1e-9
    )
    assert (scores.sipas_low, scores.sipas_high) == present(scores.sipas_interval)


def test_index_exactly_on_the_target_is_met() -> None:
    # Summed in floating point these shares give 89.99999999999999 instead of 90.
    counts = AnswerCounts(
        responses=42,
        ratings={"q1": {5: 10, 1: 2}, "q2": {4: 1}, "q3": {5: 35, 3: 7}, "q4": {4: 14, 2: 1}},
    )
    scores = score(counts)
    assert scores.sipas_index == 90.0
    assert judge_index(scores, threshold=90).status is Status.MET


def test_overall_share_is_q6_and_not_part_of_the_index() -> None:
    responses = [raw(q6=5), raw(q6=3), raw(q6=None), raw(q6=4)]
    scores = score(counts_of(responses))
    assert (scores.overall.valid, scores.overall.satisfied) == (3, 2)
    assert scores.sipas_index == 100.0


def test_integrity_leaves_out_decline_and_no_answer() -> None:
    answers = ["no"] * 6 + ["yes"] * 2 + ["decline"] * 5 + [None] * 3
    scores = score(counts_of([raw(q7=answer) for answer in answers]))
    assert scores.integrity == Share(valid=8, satisfied=6)
    assert scores.integrity.share == 75.0


def test_wish_shares_are_per_response_answering_q8() -> None:
    responses = [
        raw(q8=("speed", "online")),
        raw(q8=("speed",)),
        raw(q8=("facilities", "speed")),
        raw(q8=("online",)),
        raw(),  # did not answer q8: not in the denominator
    ]
    scores = score(counts_of(responses))
    assert scores.wish_respondents == 4
    assert scores.wishes == {"speed": 75.0, "online": 50.0, "facilities": 25.0}


def test_no_wishes_without_anyone_answering_q8() -> None:
    scores = score(counts_of([raw(), raw()]))
    assert scores.wishes == {}
    assert scores.wish_respondents == 0


def test_empty_scope_has_no_figures() -> None:
    scores = score(AnswerCounts())
    assert scores.responses == 0
    assert list(scores.elements) == list(ELEMENT_KEYS)
    assert all(share == Share(0, 0) for share in scores.elements.values())
    assert scores.sipas_index is None
    assert scores.sipas_interval is None
    assert scores.overall.share is None
    assert scores.integrity.share is None
    assert judge_index(scores, threshold=90) == Judgement(Status.INSUFFICIENT, uncertain=False)


# --- Pooling -------------------------------------------------------------------------------


def test_pooling_scores_the_union_and_is_not_an_average_of_indices() -> None:
    office_a = [raw()] * 10  # every element 100
    office_b = [raw()] * 20 + [raw(3, 3, 3, 3, 3, 3)] * 20  # every element 50
    score_a = score(counts_of(office_a))
    score_b = score(counts_of(office_b))
    pooled = score(pool([counts_of(office_a), counts_of(office_b)]))

    assert pooled == score(counts_of(office_a + office_b))
    assert (score_a.sipas_index, score_b.sipas_index) == (100.0, 50.0)
    assert pooled.sipas_index == 60.0  # 30 satisfied of 50 per element
    assert (100.0 + 50.0) / 2 == 75.0  # what averaging the two indices would wrongly report


def test_merged_is_pool_of_two() -> None:
    raw_a = [raw(q7="no", q8=("speed",)), raw(q4=None)]
    raw_b = [raw(q1=2, q7="yes", q8=("speed", "online"))]
    a, b = counts_of(raw_a), counts_of(raw_b)
    assert a.merged(b) == pool([a, b]) == counts_of(raw_a + raw_b)
    assert a.merged(b).wishes == {"speed": 2, "online": 1}


def test_pool_of_nothing_is_the_empty_scope() -> None:
    assert pool([]) == AnswerCounts()


# --- AnswerCounts holds only counts that real answers can produce ------------------------


def test_counts_drop_zeros_and_compare_by_content() -> None:
    assert AnswerCounts(responses=1, ratings={"q1": {4: 0}}, wishes={"speed": 0}) == AnswerCounts(
        responses=1
    )


def test_counts_are_read_only_copies() -> None:
    ratings = {"q1": {5: 1}}
    counts = AnswerCounts(responses=1, ratings=ratings)
    ratings["q1"][5] = 99
    assert counts.ratings["q1"][5] == 1
    with pytest.raises(TypeError):
        counts.ratings["q1"][4] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"responses": -1},
        {"responses": 2, "ratings": {"q9": {5: 1}}},
        {"responses": 2, "ratings": {"q1": {6: 1}}},
        {"responses": 2, "ratings": {"q1": {0: 1}}},
        {"responses": 2, "ratings": {"q1": {5: -1}}},
        {"responses": 2, "ratings": {"q1": {5: 2, 4: 1}}},
        {"responses": 2, "integrity": {"maybe": 1}},
        {"responses": 2, "integrity": {"no": 2, "yes": 1}},
        {"responses": 2, "wish_respondents": 3},
        {"responses": 2, "wish_respondents": 1, "wishes": {"speed": 2}},
    ],
)
def test_counts_refuse_impossible_tallies(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        AnswerCounts(**kwargs)


# --- Status against a target -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "n", "interval", "expected"),
    [
        (95.0, 29, None, Judgement(Status.INSUFFICIENT, uncertain=False)),
        (95.0, 30, None, Judgement(Status.MET, uncertain=False)),
        (80.0, 30, None, Judgement(Status.BELOW, uncertain=False)),
        (None, 500, None, Judgement(Status.INSUFFICIENT, uncertain=False)),
        (90.0, 30, None, Judgement(Status.MET, uncertain=False)),
        (89.99, 30, None, Judgement(Status.BELOW, uncertain=False)),
        # The interval leaves the verdict open: uncertain, whichever side the value is on.
        (92.0, 100, (85.0, 96.0), Judgement(Status.MET, uncertain=True)),
        (88.0, 100, (80.0, 93.0), Judgement(Status.BELOW, uncertain=True)),
        (90.0, 100, (84.0, 94.0), Judgement(Status.MET, uncertain=True)),
        # An upper bound on the target still allows "met": open.
        (86.0, 100, (80.0, 90.0), Judgement(Status.BELOW, uncertain=True)),
        # A lower bound on the target means every plausible value meets it: settled.
        (93.0, 100, (90.0, 96.0), Judgement(Status.MET, uncertain=False)),
        (96.0, 400, (93.5, 97.6), Judgement(Status.MET, uncertain=False)),
        (70.0, 400, (65.3, 74.3), Judgement(Status.BELOW, uncertain=False)),
        # Too few responses: no verdict, hence nothing to be uncertain about.
        (92.0, 29, (70.0, 99.0), Judgement(Status.INSUFFICIENT, uncertain=False)),
    ],
)
def test_judge_against_a_target_of_90(
    value: float | None, n: int, interval: tuple[float, float] | None, expected: Judgement
) -> None:
    assert judge(value, n, threshold=90, interval=interval) == expected


def test_minimum_sample_is_a_setting() -> None:
    assert judge(95.0, 29, threshold=90, min_sample=20).status is Status.MET
    assert judge(95.0, 49, threshold=90, min_sample=50).status is Status.INSUFFICIENT


@pytest.mark.parametrize(
    ("n", "min_sample", "threshold"), [(-1, 30, 90.0), (30, -1, 90.0), (30, 30, math.nan)]
)
def test_judge_refuses_nonsense(n: int, min_sample: int, threshold: float) -> None:
    with pytest.raises(ValueError):
        judge(95.0, n, threshold=threshold, min_sample=min_sample)


def test_status_values_are_the_machine_values() -> None:
    assert [status.value for status in Status] == ["met", "below", "insufficient"]
    assert str(Status.MET) == "met"


def test_judge_share_uses_valid_answers_as_n() -> None:
    # 29 valid of 40 responses: q4 has 11 N/A.
    assert judge_share(Share(valid=29, satisfied=29), 90).status is Status.INSUFFICIENT
    # 30 of 30: the interval (88.6, 100) is clear of a target of 85 but not of 90.
    assert judge_share(Share(valid=30, satisfied=30), 85) == Judgement(Status.MET, False)
    assert judge_share(Share(valid=30, satisfied=30), 90) == Judgement(Status.MET, True)
    # 27 of 30 = 90.0, interval (74.4, 96.5): met, but not surely.
    assert judge_share(Share(valid=30, satisfied=27), 90) == Judgement(Status.MET, True)


def test_judge_index_uses_responses_in_scope_as_n() -> None:
    # q5 has only 5 valid answers, but the index is judged on the 30 responses; its few
    # answers widen the interval instead: the mean of the lower bounds is 82.2.
    counts = AnswerCounts(
        responses=30,
        ratings={key: {5: 30} for key in ("q1", "q2", "q3", "q4")} | {"q5": {5: 5}},
    )
    assert judge_index(score(counts), 80) == Judgement(Status.MET, uncertain=False)
    assert judge_index(score(counts), 85) == Judgement(Status.MET, uncertain=True)
    fewer = AnswerCounts(responses=29, ratings={key: {5: 29} for key in ELEMENT_KEYS})
    assert judge_index(score(fewer), 85).status is Status.INSUFFICIENT


# --- The worked example of docs/methodology.md --------------------------------------------

WORKED_EXAMPLE = AnswerCounts(
    responses=40,
    ratings={
        "q1": {5: 20, 4: 16, 3: 3, 2: 1},
        "q2": {5: 18, 4: 17, 3: 4, 1: 1},
        "q3": {5: 25, 4: 13, 3: 2},
        "q4": {5: 15, 4: 12, 3: 2, 2: 1},
        "q5": {5: 3, 4: 3, 3: 1, 2: 1},
        "q6": {5: 22, 4: 15, 3: 2, 2: 1},
    },
    integrity={"no": 30, "yes": 1, "decline": 4},
    wishes={
        "speed": 12,
        "online": 9,
        "facilities": 6,
        "attitude": 3,
        "guidance": 2,
        "transparency": 1,
        "feedback": 1,
    },
    wish_respondents=25,
    # How each pair of elements was answered together, from the 40 responses listed in
    # the methodology: (both valid, first satisfied, second satisfied, both satisfied).
    pairs={
        ("q1", "q2"): PairCounts(40, 36, 35, 34),
        ("q1", "q3"): PairCounts(40, 36, 38, 36),
        ("q1", "q4"): PairCounts(30, 27, 27, 27),
        ("q2", "q3"): PairCounts(40, 35, 38, 35),
        ("q2", "q4"): PairCounts(30, 26, 27, 26),
        ("q3", "q4"): PairCounts(30, 28, 27, 27),
        **{(key, "q5"): PairCounts(8, 6, 6, 6) for key in ("q1", "q2", "q3", "q4")},
    },
)


def test_worked_example_of_the_methodology() -> None:
    scores = score(WORKED_EXAMPLE)
    elements = [(share.valid, share.satisfied, share.share) for share in scores.elements.values()]
    assert elements == [
        (40, 36, 90.0),
        (40, 35, 87.5),
        (40, 38, 95.0),
        (30, 27, 90.0),
        (8, 6, 75.0),
    ]
    rounded = [
        (round(s.ci_low or 0, 1), round(s.ci_high or 0, 1)) for s in scores.elements.values()
    ]
    assert rounded == [(76.9, 96.0), (73.9, 94.5), (83.5, 98.6), (74.4, 96.5), (40.9, 92.9)]
    assert scores.sipas_index == 87.5
    # From the pair counts: 71,2% – 95,2%; without them (every element assumed to move with
    # the others) the mean of the element bounds, 69,9% – 95,7%, is wider.
    assert scores.sipas_interval == pytest.approx((71.156973, 95.206559), abs=1e-6)
    fallback = score(replace(WORKED_EXAMPLE, pairs=None))
    assert fallback.sipas_interval == pytest.approx((69.927376, 95.718592), abs=1e-6)
    assert scores.overall == Share(valid=40, satisfied=37)
    assert scores.overall.share == 92.5
    assert scores.overall.interval == pytest.approx((80.135470, 97.416444), abs=1e-6)
    assert scores.integrity == Share(valid=31, satisfied=30)
    assert round(scores.integrity.share or 0, 1) == 96.8
    assert scores.wishes["speed"] == 48.0
    assert scores.wishes["online"] == 36.0
    assert scores.wishes["facilities"] == 24.0
    assert judge_index(scores, 85) == Judgement(Status.MET, uncertain=True)
    assert judge_index(scores, 90) == Judgement(Status.BELOW, uncertain=True)
    assert judge_share(scores.overall, 85) == Judgement(Status.MET, uncertain=True)
    assert judge_share(scores.overall, 90) == Judgement(Status.MET, uncertain=True)


# --- Properties: score() agrees with a plain recount of raw responses ---------------------

ratings = st.sampled_from([None, 1, 2, 3, 4, 5])
responses = st.lists(
    st.fixed_dictionaries(
        {
            **{key: ratings for key in RATING_KEYS},
            "q7": st.sampled_from([None, "no", "yes", "decline"]),
            "q8": st.lists(st.sampled_from(WISH_CODES), max_size=2, unique=True).map(tuple),
        }
    ),
    max_size=60,
)


def recount_share(responses: list[Raw], key: str) -> tuple[int, int, float | None]:
    """Count valid and satisfied answers to one question, one response at a time."""
    valid = 0
    satisfied = 0
    for response in responses:
        answer = response[key]
        if answer in (1, 2, 3, 4, 5):
            valid += 1
            if answer >= 4:
                satisfied += 1
    share = None if valid == 0 else satisfied / valid * 100
    return valid, satisfied, share


@PROPERTY
@given(responses)
def test_score_agrees_with_a_plain_recount(responses: list[Raw]) -> None:
    scores = score(counts_of(responses))
    assert scores.responses == len(responses)

    element_shares = []
    for key in ELEMENT_KEYS:
        valid, satisfied, share = recount_share(responses, key)
        element = scores.elements[key]
        assert (element.valid, element.satisfied) == (valid, satisfied)
        assert_close(element.share, share)
        if share is not None:
            element_shares.append(share)
    expected_index = sum(element_shares) / len(element_shares) if element_shares else None
    assert_close(scores.sipas_index, expected_index)

    valid, satisfied, share = recount_share(responses, OVERALL_KEY)
    assert (scores.overall.valid, scores.overall.satisfied) == (valid, satisfied)
    assert_close(scores.overall.share, share)

    said_no = 0
    said_yes = 0
    for response in responses:
        if response["q7"] == "no":
            said_no += 1
        elif response["q7"] == "yes":
            said_yes += 1
    assert scores.integrity == Share(valid=said_no + said_yes, satisfied=said_no)

    answered_q8 = [response for response in responses if len(response["q8"]) > 0]
    expected_wishes = {}
    for code in WISH_CODES:
        chosen = 0
        for response in answered_q8:
            if code in response["q8"]:
                chosen += 1
        if chosen > 0:
            expected_wishes[code] = 100 * chosen / len(answered_q8)
    assert scores.wishes == pytest.approx(expected_wishes, rel=1e-12)


@PROPERTY
@given(responses, responses, responses)
def test_pooling_equals_scoring_the_union(a: list[Raw], b: list[Raw], c: list[Raw]) -> None:
    pooled = pool([counts_of(a), counts_of(b), counts_of(c)])
    assert pooled == counts_of(a + b + c)
    assert pooled == counts_of(a).merged(counts_of(b)).merged(counts_of(c))
    assert score(pooled) == score(counts_of(a + b + c))


@PROPERTY
@given(responses)
def test_index_interval_contains_the_index(responses: list[Raw]) -> None:
    scores = score(counts_of(responses))
    if scores.sipas_index is None:
        assert scores.sipas_interval is None
    else:
        low, high = present(scores.sipas_interval)
        assert 0 <= low <= scores.sipas_index <= high <= 100


@st.composite
def tallies(draw: st.DrawFn) -> tuple[int, int]:
    """Draw a number of answers n and a number of successes in 0..n."""
    n = draw(st.integers(min_value=1, max_value=10**9))
    successes = draw(st.one_of(st.integers(0, n), st.sampled_from([0, n, 1, n - 1])))
    return successes, n


@PROPERTY
@given(tallies())
def test_wilson_bounds_stay_in_range_and_contain_the_estimate(tally: tuple[int, int]) -> None:
    successes, n = tally
    interval = wilson_interval(successes, n)
    assert interval is not None
    low, high = interval
    estimate = Share(valid=n, satisfied=successes).share
    assert estimate is not None
    assert 0 <= low <= estimate <= high <= 100
    assert low < high


@PROPERTY
@given(tallies(), st.floats(min_value=0, max_value=100))
def test_judge_is_consistent_with_value_and_interval(
    tally: tuple[int, int], threshold: float
) -> None:
    successes, n = tally
    share = Share(valid=n, satisfied=successes)
    judgement = judge_share(share, threshold, min_sample=1)
    value = share.share or 0
    assert judgement.status is (Status.MET if value >= threshold else Status.BELOW)
    low, high = present(share.interval)
    assert judgement.uncertain == (low < threshold <= high)


# --- The interval of the index from pair counts ---------------------------------------------


def test_index_of_perfectly_correlated_elements_has_the_interval_of_one_share() -> None:
    # Each person gives the same answer to every element: S is one share of 40 people.
    answers = [raw(*(5,) * 6)] * 30 + [raw(*(2,) * 6)] * 10
    scores = score(counts_of(answers))
    assert scores.sipas_index == 75.0
    assert scores.sipas_interval == pytest.approx(present(wilson_interval(30, 40)), abs=1e-9)


def test_index_of_independent_elements_is_narrower_than_the_mean_of_their_bounds() -> None:
    # Satisfaction on one element says nothing of the others: 8 of 10 on each, spread out.
    answers = [
        raw(*(4 if (i + shift) % 10 < 8 else 2 for shift in (0, 3, 6, 1, 5)), q6=4)
        for i in range(100)
    ]
    with_pairs = score(counts_of(answers))
    without = score(counts_of(answers, with_pairs=False))
    assert with_pairs.sipas_index == without.sipas_index == 80.0
    low, high = present(with_pairs.sipas_interval)
    old_low, old_high = present(without.sipas_interval)
    assert old_low < low < 80.0 < high < old_high
    assert (old_low, old_high) == pytest.approx(present(wilson_interval(80, 100)))


def test_index_interval_stays_in_range_and_is_not_empty_at_100_percent() -> None:
    scores = score(counts_of([raw()] * 30))
    low, high = present(scores.sipas_interval)
    assert high == 100.0
    assert low == pytest.approx(present(wilson_interval(30, 30))[0])


def test_pooling_adds_pair_counts_and_forgets_them_when_a_part_has_none() -> None:
    a, b = [raw(q1=5, q2=2)] * 3, [raw(q1=4, q2=4, q4=None)] * 2
    pooled = pool([counts_of(a), counts_of(b)])
    assert pooled.pairs is not None
    assert pooled.pairs[("q1", "q2")] == PairCounts(5, 5, 2, 2)
    assert pooled == counts_of(a + b)
    assert pool([counts_of(a), counts_of(b, with_pairs=False)]).pairs is None
    # An empty part, with no pair counts to give, takes nothing away.
    assert pool([counts_of(a), AnswerCounts()]).pairs == counts_of(a).pairs


@pytest.mark.parametrize("counts", [(3, 4, 0, 0), (3, 2, 2, 3), (3, 2, 2, 0), (-1, 0, 0, 0)])
def test_pair_counts_refuse_impossible_tallies(counts: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        PairCounts(*counts)


def test_pairs_cannot_have_more_answers_than_responses() -> None:
    with pytest.raises(ValueError):
        AnswerCounts(responses=2, pairs={("q1", "q2"): PairCounts(3, 0, 0, 0)})


def test_each_indicator_is_judged_against_its_own_figure() -> None:
    # O (q6) is 100% satisfied, S is 75%: against 85, O is met and S is below.
    answers = [raw(q1=5, q2=5, q3=2, q4=5, q5=5, q6=5)] * 40
    scores = score(counts_of(answers))
    assert scores.sipas_index == 80.0
    assert judge_indicator(scores, Indicator.OVERALL, 85).status is Status.MET
    assert judge_indicator(scores, Indicator.SIPAS_INDEX, 85).status is Status.BELOW
