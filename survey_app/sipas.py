"""Turn tallies of survey answers into SIPAS-style shares, intervals and statuses.

Counts come in (from the GROUP BY tallies), indices come out; nothing here touches the
database, the web layer or translations. Every figure is a share of satisfied answers
(4 or 5 on the 1..5 scale), never a mean score.

Decision on the SIPAS index (a mean of up to five element shares):

- its n is the number of counted responses in scope (``AnswerCounts.responses``), the figure
  a reader sees beside it, and the one tested against the minimum sample;
- its 95% interval is the mean of the Wilson bounds of the defined elements. The five element
  shares come from the same people, so they are strongly and positively correlated, and the
  marginal counts cannot tell us by how much. Whatever the correlation, the standard error of
  a mean is at most the mean of the standard errors (triangle inequality), with equality
  under perfect correlation, so averaging the bounds never claims more precision than the
  data hold. It always contains the index, and it is easy to explain.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Final, TypeVar

ELEMENT_KEYS: Final[tuple[str, ...]] = ("q1", "q2", "q3", "q4", "q5")
OVERALL_KEY: Final = "q6"
RATING_KEYS: Final[tuple[str, ...]] = (*ELEMENT_KEYS, OVERALL_KEY)
SCALE: Final[tuple[int, ...]] = (1, 2, 3, 4, 5)
SATISFIED_VALUES: Final = frozenset({4, 5})
INTEGRITY_ANSWERS: Final[tuple[str, ...]] = ("no", "yes", "decline")
Z_95: Final = 1.96
DEFAULT_MIN_SAMPLE: Final = 30

_K = TypeVar("_K")


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """Return the Wilson score interval of successes / n, in percent, or None when n is 0."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a positive number, got {z}")
    if n == 0:
        return None
    # The count form avoids dividing by n twice; it is the textbook formula times n / n.
    z2 = z * z
    centre = successes + z2 / 2
    half = z * math.sqrt(successes * (n - successes) / n + z2 / 4)
    low = 100 * (centre - half) / (n + z2)
    high = 100 * (centre + half) / (n + z2)
    # At 0 and n the exact bound is 0 or 100; pin it so rounding cannot push it past the estimate.
    if successes == 0:
        low = 0.0
    if successes == n:
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
    responses that chose at least one code. Zero counts are dropped, so equal tallies compare
    equal however they were built.
    """

    responses: int = 0
    ratings: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    integrity: Mapping[str, int] = field(default_factory=dict)
    wishes: Mapping[str, int] = field(default_factory=dict)
    wish_respondents: int = 0

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
        integrity = _clean_counts(self.integrity, INTEGRITY_ANSWERS, self.responses, "q7")
        if sum(integrity.values()) > self.responses:
            raise ValueError("q7 has more answers than there are responses")
        # Wish codes belong to the questionnaire version, not to scoring, so any code is allowed.
        wishes = _clean_counts(self.wishes, None, self.wish_respondents, "q8")
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
    for scope in scopes:
        responses += scope.responses
        wish_respondents += scope.wish_respondents
        for key, by_value in scope.ratings.items():
            _add_counts(ratings.setdefault(key, {}), by_value)
        _add_counts(integrity, scope.integrity)
        _add_counts(wishes, scope.wishes)
    return AnswerCounts(
        responses=responses,
        ratings=ratings,
        integrity=integrity,
        wishes=wishes,
        wish_respondents=wish_respondents,
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
        bounds = [b for b in (s.interval for s in defined) if b is not None]
        sipas_interval = (
            math.fsum(low for low, _ in bounds) / len(bounds),
            math.fsum(high for _, high in bounds) / len(bounds),
        )
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
