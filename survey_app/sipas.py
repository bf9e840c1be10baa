"""Turn tallies of survey answers into SIPAS-style shares, intervals and statuses.

Counts come in (from the GROUP BY tallies), indices come out; nothing here touches the
database, the web layer or translations. Every figure is a share of satisfied answers
(4 or 5 on the 1..5 scale), never a mean score.

Decision on the SIPAS index (a mean of up to five element shares):

- its n is the number of counted responses in scope (``AnswerCounts.responses``), the figure
  a reader sees beside it, and the one tested against the minimum sample;
- its 95% interval comes from response-level information. The element shares come from the
  same people, so they are correlated; the rollups keep, for every pair of elements, how many
  responses answered both and how many were satisfied on either and on both
  (``PairCounts``). The delta method turns those into the variance of the mean of the
  shares, and a Wilson interval on the effective sample size that variance implies
  (Korn and Graubard 1998) keeps the bounds inside 0..100 and away from zero width near
  100%. It agrees with a bootstrap over responses (tests/test_index_interval.py).
- Counts without pair information (built by hand) fall back to the mean of the element
  bounds, which assumes perfect correlation: never narrower than the truth.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Final, TypeVar

# The keys come from the questionnaire (plain data, no web framework): scoring names no
# question itself.
from survey_app.questionnaire import (
    ELEMENT_KEYS,
    INTEGRITY_ANSWERS,
    OVERALL_KEY,
    RATING_KEYS,
    SCALE_VALUES,
)

# Every unordered pair of elements, in a fixed order (q1-q2, q1-q3, ... q4-q5).
ELEMENT_PAIRS: Final[tuple[tuple[str, str], ...]] = tuple(
    (a, b) for i, a in enumerate(ELEMENT_KEYS) for b in ELEMENT_KEYS[i + 1 :]
)
SCALE: Final[tuple[int, ...]] = SCALE_VALUES
SATISFIED_VALUES: Final = frozenset({4, 5})
Z_95: Final = 1.96
DEFAULT_MIN_SAMPLE: Final = 30
# A variance of the index below this (in squared fractions) is rounding noise around zero.
VARIANCE_FLOOR: Final = 1e-12

_K = TypeVar("_K")


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Return the Wilson score interval of successes / n, in percent, or None when n is 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a positive number, got {z}")
    if n == 0:
        return None
    return _wilson(successes, n, z)


def _wilson(successes: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Return the Wilson interval of successes / n in percent (n > 0; both may be fractional)."""
    # The count form avoids dividing by n twice; it is the textbook formula times n / n.
    z2 = z * z
    centre = successes + z2 / 2
    half = z * math.sqrt(max(successes * (n - successes), 0.0) / n + z2 / 4)
    low = 100 * (centre - half) / (n + z2)
    high = 100 * (centre + half) / (n + z2)
    # At 0 and n the exact bound is 0 or 100; pin it so rounding cannot push it past the estimate.
    if successes <= 0:
        low = 0.0
    if successes >= n:
        high = 100.0
    return max(low, 0.0), min(high, 100.0)


@dataclass(frozen=True)
class Share:
    """Hold how many answers were valid and how many of them were satisfied."""

    valid: int
    satisfied: int

    def __post_init__(self) -> None:
        """Refuse counts that cannot come from real answers."""
        if not 0 <= self.satisfied <= self.valid:
            raise ValueError(
                f"need 0 <= satisfied <= valid, got satisfied={self.satisfied}, valid={self.valid}"
            )

    @property
    def share(self) -> float | None:
        """Return the satisfied share in percent, or None when no answer is valid."""
        if self.valid == 0:
            return None
        # Multiply before dividing so that, e.g., 17 of 20 is exactly 85.0.
        return 100 * self.satisfied / self.valid

    @property
    def interval(self) -> tuple[float, float] | None:
        """Return the Wilson 95% interval in percent, or None when no answer is valid."""
        return wilson_interval(self.satisfied, self.valid)

    @property
    def ci_low(self) -> float | None:
        """Return the lower Wilson 95% bound in percent."""
        interval = self.interval
        return None if interval is None else interval[0]

    @property
    def ci_high(self) -> float | None:
        """Return the upper Wilson 95% bound in percent."""
        interval = self.interval
        return None if interval is None else interval[1]


@dataclass(frozen=True)
class PairCounts:
    """Hold how two elements were answered together, over the responses valid on both.

    ``valid`` responses answered both with 1..5; of them, ``first_satisfied`` were satisfied
    on the first element, ``second_satisfied`` on the second, ``both_satisfied`` on both.
    """

    valid: int = 0
    first_satisfied: int = 0
    second_satisfied: int = 0
    both_satisfied: int = 0

    def __post_init__(self) -> None:
        """Refuse counts that cannot come from real answers."""
        if not (
            0 <= self.both_satisfied <= min(self.first_satisfied, self.second_satisfied)
            and max(self.first_satisfied, self.second_satisfied) <= self.valid
            and self.first_satisfied + self.second_satisfied - self.both_satisfied <= self.valid
        ):
            raise ValueError(f"impossible pair counts {self}")

    def __add__(self, other: "PairCounts") -> "PairCounts":
        return PairCounts(
            self.valid + other.valid,
            self.first_satisfied + other.first_satisfied,
            self.second_satisfied + other.second_satisfied,
            self.both_satisfied + other.both_satisfied,
        )


NO_PAIRS: Final = PairCounts()


def _clean_counts(
    counts: Mapping[_K, int], allowed: Iterable[_K] | None, ceiling: int, what: str
) -> Mapping[_K, int]:
    """Return a read-only copy of counts without zeros, after checking keys and bounds."""
    allowed_keys = None if allowed is None else frozenset(allowed)
    cleaned: dict[_K, int] = {}
    for key, count in counts.items():
        if allowed_keys is not None and key not in allowed_keys:
            raise ValueError(f"unknown {what} answer {key!r}")
        if not 0 <= count <= ceiling:
            raise ValueError(f"{what} count for {key!r} must be in 0..{ceiling}, got {count}")
        if count:
            cleaned[key] = count
    return MappingProxyType(cleaned)


@dataclass(frozen=True)
class AnswerCounts:
    """Hold the counted answers of one scope, as tallied by a GROUP BY.

    ``ratings`` maps a question key (q1..q6) to {answer 1..5: count}; N/A and missing answers
    are simply absent. ``integrity`` counts the q7 answers no / yes / decline. ``wishes`` maps
    a q8 code to the number of responses choosing it, and ``wish_respondents`` is the number of
    responses that chose at least one code. ``pairs`` maps each pair of ELEMENT_PAIRS to how
    the two were answered together (None when unknown, for counts built by hand). Zero counts
    are dropped, so equal tallies compare equal however they were built.
    """

    responses: int = 0
    ratings: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    integrity: Mapping[str, int] = field(default_factory=dict)
    wishes: Mapping[str, int] = field(default_factory=dict)
    wish_respondents: int = 0
    pairs: Mapping[tuple[str, str], PairCounts] | None = None

    def __post_init__(self) -> None:
        """Check that the counts fit together, and freeze copies of the mappings."""
        if self.responses < 0:
            raise ValueError(f"responses must be >= 0, got {self.responses}")
        if not 0 <= self.wish_respondents <= self.responses:
            raise ValueError(
                f"wish_respondents must be in 0..{self.responses}, got {self.wish_respondents}"
            )
        ratings: dict[str, Mapping[int, int]] = {}
        for key, by_value in self.ratings.items():
            if key not in RATING_KEYS:
                raise ValueError(f"unknown rating question {key!r}")
            cleaned = _clean_counts(by_value, SCALE, self.responses, key)
            # Each response answers a question at most once, so a bigger total means a bad join.
            if sum(cleaned.values()) > self.responses:
                raise ValueError(f"{key} has more answers than there are responses")
            if cleaned:
                ratings[key] = cleaned
        integrity = _clean_counts(self.integrity, INTEGRITY_ANSWERS, self.responses,
                                  "integrity")
        if sum(integrity.values()) > self.responses:
            raise ValueError("q7 has more answers than there are responses")
        # Wish codes belong to the questionnaire version, not to scoring, so any code is allowed.
        wishes = _clean_counts(self.wishes, None, self.wish_respondents, "wish")
        if self.pairs is None and self.responses == 0:
            # Nobody answered: there is nothing about pairs left to know.
            object.__setattr__(self, "pairs", {})
        if self.pairs is not None:
            unknown = set(self.pairs) - set(ELEMENT_PAIRS)
            if unknown:
                raise ValueError(f"unknown element pairs {sorted(unknown)}")
            pairs = {
                pair: counts
                for pair in ELEMENT_PAIRS
                if (counts := self.pairs.get(pair, NO_PAIRS)) != NO_PAIRS
            }
            for (first, second), counts in pairs.items():
                if counts.valid > self.responses:
                    raise ValueError(f"{first}-{second} has more answers than there are responses")
            object.__setattr__(self, "pairs", MappingProxyType(pairs))
        # Frozen dataclasses can only be set through object.__setattr__.
        object.__setattr__(self, "ratings", MappingProxyType(ratings))
        object.__setattr__(self, "integrity", integrity)
        object.__setattr__(self, "wishes", wishes)

    def rating_share(self, key: str) -> Share:
        """Return valid and satisfied answer counts of one rating question."""
        if key not in RATING_KEYS:
            raise ValueError(f"unknown rating question {key!r}")
        by_value = self.ratings.get(key, {})
        return Share(
            valid=sum(by_value.values()),
            satisfied=sum(count for value, count in by_value.items() if value in SATISFIED_VALUES),
        )

    def merged(self, other: "AnswerCounts") -> "AnswerCounts":
        """Return the counts of both scopes taken together."""
        return pool((self, other))


def _add_counts(total: dict[_K, int], counts: Mapping[_K, int]) -> None:
    """Add counts into total, key by key."""
    for key, count in counts.items():
        total[key] = total.get(key, 0) + count


def pool(scopes: Iterable[AnswerCounts]) -> AnswerCounts:
    """Return the counts of all scopes taken together (disjoint sets of responses)."""
    # Adding counts is only right when no response is in two scopes; the caller owns that.
    responses = 0
    wish_respondents = 0
    ratings: dict[str, dict[int, int]] = {}
    integrity: dict[str, int] = {}
    wishes: dict[str, int] = {}
    # Summed as plain numbers, made into PairCounts once: reports pool thousands of parts.
    pairs: dict[tuple[str, str], list[int]] | None = {}
    for scope in scopes:
        responses += scope.responses
        wish_respondents += scope.wish_respondents
        for key, by_value in scope.ratings.items():
            _add_counts(ratings.setdefault(key, {}), by_value)
        _add_counts(integrity, scope.integrity)
        _add_counts(wishes, scope.wishes)
        if scope.pairs is None and scope.responses:
            pairs = None  # one part without pair counts leaves the whole without them
        elif pairs is not None and scope.pairs is not None:
            for pair, counts in scope.pairs.items():
                total = pairs.setdefault(pair, [0, 0, 0, 0])
                total[0] += counts.valid
                total[1] += counts.first_satisfied
                total[2] += counts.second_satisfied
                total[3] += counts.both_satisfied
    return AnswerCounts(
        responses=responses,
        ratings=ratings,
        integrity=integrity,
        wishes=wishes,
        wish_respondents=wish_respondents,
        pairs=None if pairs is None else {pair: PairCounts(*t) for pair, t in pairs.items()},
    )


@dataclass(frozen=True)
class Scores:
    """Hold every figure of one scope: element shares, index, overall, integrity, wishes.

    ``elements`` always has q1..q5, undefined ones as Share(0, 0); ``wishes`` holds only the
    codes someone chose, and is empty when nobody answered q8.
    """

    responses: int
    elements: dict[str, Share]
    sipas_index: float | None
    sipas_interval: tuple[float, float] | None
    overall: Share
    integrity: Share
    wishes: dict[str, float]
    wish_respondents: int

    @property
    def sipas_low(self) -> float | None:
        """Return the lower 95% bound of the index in percent."""
        return None if self.sipas_interval is None else self.sipas_interval[0]

    @property
    def sipas_high(self) -> float | None:
        """Return the upper 95% bound of the index in percent."""
        return None if self.sipas_interval is None else self.sipas_interval[1]


def score(counts: AnswerCounts) -> Scores:
    """Compute every figure of one scope from its counts."""
    elements = {key: counts.rating_share(key) for key in ELEMENT_KEYS}
    defined = [share for share in elements.values() if share.valid > 0]
    sipas_index: float | None = None
    sipas_interval: tuple[float, float] | None = None
    if defined:
        # Exact arithmetic, so an index that is exactly on a target is not judged 1e-14 below it.
        exact = sum((Fraction(100 * s.satisfied, s.valid) for s in defined), Fraction(0))
        sipas_index = float(exact / len(defined))
        sipas_interval = index_interval(counts, elements, sipas_index)
    integrity = Share(
        valid=counts.integrity.get("no", 0) + counts.integrity.get("yes", 0),
        satisfied=counts.integrity.get("no", 0),
    )
    wishes: dict[str, float] = {}
    if counts.wish_respondents > 0:
        wishes = {
            code: 100 * chosen / counts.wish_respondents for code, chosen in counts.wishes.items()
        }
    return Scores(
        responses=counts.responses,
        elements=elements,
        sipas_index=sipas_index,
        sipas_interval=sipas_interval,
        overall=counts.rating_share(OVERALL_KEY),
        integrity=integrity,
        wishes=wishes,
        wish_respondents=counts.wish_respondents,
    )


def index_interval(
    counts: AnswerCounts, elements: Mapping[str, Share], index: float
) -> tuple[float, float]:
    """Return the 95% interval of the index (the mean of the defined element shares).

    The delta method: with p_k = x_k / n_k, p_k - P_k is about the mean over the n_k valid
    responses of (y_ik - P_k), so

        Cov(p_j, p_k) = sum over responses valid on both of (y_ij - p_j)(y_ik - p_k) / (n_j n_k)
                      = (s_jk - p_k s_j - p_j s_k + n_jk p_j p_k) / (n_j n_k)

    with n_jk answering both, s_j and s_k satisfied on j and on k among them, s_jk on both;
    Var(S) = sum over j, k of Cov(p_j, p_k) / K^2. The effective sample size
    n_eff = S(1 - S) / Var(S), at most the number of valid element answers (the number of
    responses when Var(S) is 0), then gives a Wilson interval for S.
    """
    defined = {key: share for key, share in elements.items() if share.valid > 0}
    if counts.pairs is None:
        bounds = [share.interval for share in defined.values() if share.interval is not None]
        return (
            math.fsum(low for low, _ in bounds) / len(bounds),
            math.fsum(high for _, high in bounds) / len(bounds),
        )
    shares = {key: share.satisfied / share.valid for key, share in defined.items()}
    variance = math.fsum(p * (1 - p) / defined[key].valid for key, p in shares.items())
    for (first, second), pair in counts.pairs.items():
        if first not in shares or second not in shares or pair.valid == 0:
            continue
        p, q = shares[first], shares[second]
        covariance = (
            pair.both_satisfied
            - q * pair.first_satisfied
            - p * pair.second_satisfied
            + pair.valid * p * q
        ) / (defined[first].valid * defined[second].valid)
        variance += 2 * covariance
    variance /= len(shares) ** 2
    mean = index / 100
    answers = sum(share.valid for share in defined.values())
    if mean * (1 - mean) <= 0 or variance <= VARIANCE_FLOOR:
        # Everyone satisfied on everything, or the answers cancel out exactly (tiny samples):
        # claim no more than one share of the responses would.
        effective = float(counts.responses)
    else:
        effective = min(mean * (1 - mean) / variance, float(answers))
    effective = max(effective, 1.0)
    return _wilson(mean * effective, effective)


class Status(StrEnum):
    """Name the verdict on a figure against its target."""

    MET = "met"
    BELOW = "below"
    INSUFFICIENT = "insufficient"


@dataclass(frozen=True)
class Judgement:
    """Hold the status of a figure and whether its interval leaves the verdict open."""

    status: Status
    uncertain: bool


def judge(
    value: float | None,
    n: int,
    threshold: float,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    interval: tuple[float, float] | None = None,
) -> Judgement:
    """Judge a figure against a target.

    Insufficient when the value is undefined or n < min_sample; otherwise met when
    value >= threshold, below when not. Uncertain when the interval holds values on both
    sides of the verdict, i.e. low < threshold <= high: a true value below the target and
    one meeting it are both plausible. An insufficient figure is never marked uncertain,
    since its status already says that nothing is concluded.
    """
    if n < 0 or min_sample < 0:
        raise ValueError(f"n and min_sample must be >= 0, got n={n}, min_sample={min_sample}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold}")
    if value is None or n < min_sample:
        return Judgement(Status.INSUFFICIENT, uncertain=False)
    status = Status.MET if value >= threshold else Status.BELOW
    uncertain = interval is not None and interval[0] < threshold <= interval[1]
    return Judgement(status, uncertain=uncertain)


def judge_share(share: Share, threshold: float, min_sample: int = DEFAULT_MIN_SAMPLE) -> Judgement:
    """Judge a single share against a target, with n = its valid answers."""
    return judge(share.share, share.valid, threshold, min_sample, share.interval)


def judge_index(
    scores: Scores, threshold: float, min_sample: int = DEFAULT_MIN_SAMPLE
) -> Judgement:
    """Judge the SIPAS index against a target, with n = the responses in scope."""
    return judge(scores.sipas_index, scores.responses, threshold, min_sample, scores.sipas_interval)


class Indicator(StrEnum):
    """Name the two figures that carry targets (Nghị quyết 76/NQ-CP)."""

    # O: satisfaction with how the administrative procedure was settled (q6).
    OVERALL = "overall"
    # S: the SIPAS-style index, the mean of the element shares.
    SIPAS_INDEX = "sipas_index"


def indicator_value(scores: Scores, indicator: Indicator) -> float | None:
    """Return the value of an indicator in percent."""
    return scores.overall.share if indicator is Indicator.OVERALL else scores.sipas_index


def judge_indicator(
    scores: Scores, indicator: Indicator, threshold: float, min_sample: int = DEFAULT_MIN_SAMPLE
) -> Judgement:
    """Judge one indicator of a scope against its own target."""
    if indicator is Indicator.OVERALL:
        return judge_share(scores.overall, threshold, min_sample)
    return judge_index(scores, threshold, min_sample)


def weighted_indicators(
    parts: Iterable[tuple[int, Scores]],
) -> dict[Indicator, float | None]:
    """Return O and S of several parts, each part's figure weighted by a count (dossiers).

    A part without a value, or with a weight of 0, leaves the mean; an indicator no part has
    a value for is None. The mean of the parts' figures, not of their responses: it answers
    "what if each sector had been surveyed in proportion to its dossiers".
    """
    parts = list(parts)
    result: dict[Indicator, float | None] = {}
    for indicator in Indicator:
        weighted = [(weight, indicator_value(scores, indicator)) for weight, scores in parts]
        kept = [(weight, value) for weight, value in weighted if value is not None and weight > 0]
        total = sum(weight for weight, _value in kept)
        result[indicator] = (
            float(sum((Fraction(weight) * Fraction(value) for weight, value in kept),
                      Fraction(0)) / total)
            if total else None
        )
    return result
