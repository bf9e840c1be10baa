"""The questionnaire as data, versioned: the one source of every question key and answer.

The texts are Vietnamese message ids: Vietnamese is the source of truth and English comes
from the catalog. A response stores the version it was answered with, so a later version
(for example the full SIPAS form) can be added beside this one without touching scoring.

Everything else derives from here: the response columns and the rollup counts (models.py),
the scoring keys (sipas.py), the labels of the elements, the API's fields and the export
columns. This module imports no web framework, so that the pure scoring can read it; texts
are translated when they are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any


class LazyText:
    """A text of the questionnaire, translated each time it is shown (like lazy_gettext).

    Equal and hashable by its message id, so questionnaires stay plain frozen data.
    """

    __slots__ = ("message",)
    # How a text is translated when shown: the web layer sets Flask-Babel's gettext
    # (web/i18n.py); without it, as in the scoring tests, the Vietnamese source is shown.
    translate: Callable[[str], str] = staticmethod(lambda message: message)

    def __init__(self, message: str) -> None:
        self.message = message

    def __str__(self) -> str:
        return str(LazyText.translate(self.message))

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyText) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"LazyText({self.message!r})"


def _l(message: str) -> Any:
    """Mark a text for the catalog; it is translated each time it is shown."""
    return LazyText(message)


# Each choice's HTML value is what the API reports; "na" is stored as NULL.
NOT_APPLICABLE = "na"


@dataclass(frozen=True)
class Choice:
    value: str
    label: object
    face: str = ""


@dataclass(frozen=True)
class Question:
    key: str
    number: int
    text: object
    kind: str  # "scale" (1..5), "single" or "multi"
    required: bool = True
    element: int | None = None  # SIPAS element 1..5 this question measures
    element_label: object = ""  # the element's name in reports
    choices: tuple[Choice, ...] = ()
    na_choice: Choice | None = None
    max_choices: int = 1
    hint: object = ""

    @property
    def values(self) -> tuple[str, ...]:
        extra = (self.na_choice.value,) if self.na_choice else ()
        return tuple(c.value for c in self.choices) + extra


@dataclass(frozen=True)
class Questionnaire:
    version: str
    intro: object  # "%(agency)s": the form at a counter, which speaks of today
    questions: tuple[Question, ...] = field(default_factory=tuple)
    # The form of a receipt link, answered days later, speaks of "this dossier" instead.
    receipt_intro: object = ""
    # The whole line under the comment box; empty: only «Không bắt buộc».
    comment_hint: object = ""
    # What follows «Không bắt buộc» under the dossier code.
    dossier_hint: object = ""

    def question(self, key: str) -> Question:
        return next(q for q in self.questions if q.key == key)


SCALE = (
    Choice("1", _l("Rất không hài lòng"), "😞"),
    Choice("2", _l("Không hài lòng"), "🙁"),
    Choice("3", _l("Bình thường"), "😐"),
    Choice("4", _l("Hài lòng"), "🙂"),
    Choice("5", _l("Rất hài lòng"), "😀"),
)

INTEGRITY_CHOICES = (
    Choice("no", _l("Không")),
    Choice("yes", _l("Có")),
    Choice("decline", _l("Không muốn trả lời")),
)

WISH_CHOICES = (
    Choice("facilities", _l("Cơ sở vật chất, trang thiết bị")),
    Choice("attitude", _l("Thái độ phục vụ")),
    Choice("guidance", _l("Năng lực hướng dẫn của công chức")),
    Choice("speed", _l("Rút ngắn thời gian giải quyết")),
    Choice("transparency", _l("Công khai, minh bạch thông tin")),
    Choice("online", _l("Dịch vụ công trực tuyến")),
    Choice("feedback", _l("Tiếp nhận, xử lý phản ánh, kiến nghị")),
)

# The 2026 wording of q7's answers: «Có» first, the values unchanged.
INTEGRITY_CHOICES_YES_FIRST = (INTEGRITY_CHOICES[1], INTEGRITY_CHOICES[0], INTEGRITY_CHOICES[2])

WISH_CHOICES_2026 = (
    WISH_CHOICES[0],
    WISH_CHOICES[1],
    Choice("guidance", _l("Cách hướng dẫn của công chức")),
    Choice("speed", _l("Thời gian giải quyết")),
    WISH_CHOICES[4],
    WISH_CHOICES[5],
    Choice("feedback", _l("Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị")),
)

COMMENT_MAX_LENGTH = 1000
DOSSIER_MAX_LENGTH = 40

SIPAS_2025_SHORT = Questionnaire(
    version="sipas-2025-short",
    intro=_l(
        "Xin Ông/Bà cho biết mức độ hài lòng về sự phục vụ của %(agency)s khi giải quyết "
        "thủ tục hôm nay. Phiếu ẩn danh, mất khoảng 1 phút."
    ),
    questions=(
        Question(
            "q1",
            1,
            _l(
                "Nơi tiếp nhận có biển hiệu, hướng dẫn rõ ràng, đủ ghế ngồi chờ, bàn viết và "
                "trang thiết bị đầy đủ, dễ sử dụng."
            ),
            "scale",
            element=1,
            element_label=_l("Tiếp cận dịch vụ"),
            choices=SCALE,
        ),
        Question(
            "q2",
            2,
            _l(
                "Thủ tục được niêm yết công khai, dễ thấy, dễ đọc; hồ sơ, phí và lệ phí được "
                "yêu cầu đúng quy định."
            ),
            "scale",
            element=2,
            element_label=_l("Thủ tục hành chính"),
            choices=SCALE,
        ),
        Question(
            "q3",
            3,
            _l(
                "Công chức có thái độ lịch sự, tôn trọng; hướng dẫn đầy đủ, dễ hiểu và giải "
                "quyết đúng quy định."
            ),
            "scale",
            element=3,
            element_label=_l("Công chức trực tiếp giải quyết công việc"),
            choices=SCALE,
        ),
        Question(
            "q4",
            4,
            _l("Kết quả được trả đúng hẹn, thông tin đầy đủ, chính xác."),
            "scale",
            element=4,
            element_label=_l("Kết quả giải quyết"),
            choices=SCALE,
            na_choice=Choice(NOT_APPLICABLE, _l("Chưa nhận kết quả")),
        ),
        Question(
            "q5",
            5,
            _l("Cơ quan tiếp nhận góp ý, phản ánh, kiến nghị dễ dàng và phản hồi kịp thời."),
            "scale",
            element=5,
            element_label=_l("Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị"),
            choices=SCALE,
            na_choice=Choice(NOT_APPLICABLE, _l("Chưa sử dụng")),
        ),
        Question(
            "q6",
            6,
            _l("Nhìn chung, Ông/Bà hài lòng như thế nào về việc giải quyết thủ tục hôm nay?"),
            "scale",
            choices=SCALE,
        ),
        Question(
            "q7",
            7,
            _l(
                "Lần này, Ông/Bà có gặp tình trạng gây phiền hà, sách nhiễu hoặc phải trả tiền "
                "ngoài quy định không?"
            ),
            "single",
            required=False,
            choices=INTEGRITY_CHOICES,
        ),
        Question(
            "q8",
            8,
            _l("Ông/Bà mong muốn cơ quan cải thiện điều gì nhất?"),
            "multi",
            required=False,
            choices=WISH_CHOICES,
            max_choices=2,
            hint=_l("Chọn tối đa 2 ý."),
        ),
    ),
    receipt_intro=_l(
        "Xin Ông/Bà cho biết mức độ hài lòng về sự phục vụ của %(agency)s khi giải quyết "
        "hồ sơ này. Phiếu ẩn danh, mất khoảng 1 phút."
    ),
    dossier_hint=_l("In trên phiếu hẹn trả kết quả"),
)

# The 2026 wording, read by a reviewer of administrative Vietnamese: a lead-in that says what
# to rate, shorter statements in plain words, «Có» first in q7. Every key, element, answer
# value and scoring rule is the 2025 version's; only the words and q7's order change.
SIPAS_2026_SHORT = Questionnaire(
    version="sipas-2026-short",
    intro=_l(
        "Xin Ông/Bà cho biết mức độ hài lòng khi đến làm thủ tục tại %(agency)s hôm nay. "
        "Với mỗi nội dung dưới đây, xin chọn một mức."
    ),
    questions=(
        replace(
            SIPAS_2025_SHORT.question("q1"),
            text=_l(
                "Nơi tiếp nhận hồ sơ có biển chỉ dẫn rõ ràng, đủ ghế ngồi chờ, bàn viết và "
                "trang thiết bị dễ sử dụng."
            ),
        ),
        replace(
            SIPAS_2025_SHORT.question("q2"),
            text=_l(
                "Thủ tục được niêm yết công khai, dễ thấy, dễ đọc; giấy tờ phải nộp và phí, "
                "lệ phí đúng như đã niêm yết."
            ),
        ),
        replace(
            SIPAS_2025_SHORT.question("q3"),
            text=_l(
                "Công chức tiếp nhận hồ sơ lịch sự, tôn trọng Ông/Bà; hướng dẫn đầy đủ, dễ hiểu."
            ),
        ),
        replace(
            SIPAS_2025_SHORT.question("q4"),
            text=_l("Kết quả được trả đúng hẹn, đầy đủ, chính xác."),
        ),
        replace(
            SIPAS_2025_SHORT.question("q5"),
            text=_l("Ông/Bà góp ý, phản ánh, kiến nghị dễ dàng và được trả lời kịp thời."),
            na_choice=Choice(NOT_APPLICABLE, _l("Chưa góp ý, phản ánh")),
        ),
        SIPAS_2025_SHORT.question("q6"),
        replace(
            SIPAS_2025_SHORT.question("q7"),
            text=_l(
                "Lần này, Ông/Bà có bị gây phiền hà, sách nhiễu hoặc phải đưa thêm tiền ngoài "
                "phí, lệ phí không?"
            ),
            choices=INTEGRITY_CHOICES_YES_FIRST,
        ),
        replace(
            SIPAS_2025_SHORT.question("q8"),
            text=_l("Ông/Bà mong muốn cơ quan cải thiện những điểm nào nhất?"),
            choices=WISH_CHOICES_2026,
        ),
    ),
    receipt_intro=_l(
        "Xin Ông/Bà cho biết mức độ hài lòng khi làm thủ tục tại %(agency)s với hồ sơ này. "
        "Với mỗi nội dung dưới đây, xin chọn một mức."
    ),
    comment_hint=_l("Không bắt buộc. Xin không ghi họ tên, số điện thoại, số CCCD."),
    dossier_hint=_l(
        "Ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả (giấy hẹn). Chỉ dùng để mỗi hồ sơ "
        "được đánh giá một lần."
    ),
)

# New responses are given the current version; a response keeps the version it was given.
CURRENT = SIPAS_2026_SHORT
QUESTIONNAIRES = {q.version: q for q in (SIPAS_2025_SHORT, SIPAS_2026_SHORT)}
# The version the tables were first made from: its keys and answer values, in its order, name
# the response columns, the rollup counts and the constraints, so that a later version that
# only reorders its answers changes no table.
FIRST = SIPAS_2025_SHORT


def questionnaire_of(version: str | None) -> Questionnaire:
    """Return the questionnaire a response was answered with (the current one if unknown)."""
    return QUESTIONNAIRES.get(version or "", CURRENT)


# Derived from the questionnaire: what every version shares (a later version keeps every key,
# element and answer value, and changes only words and order; tests/unit holds them to it).
SCALE_VALUES: tuple[int, ...] = tuple(int(choice.value) for choice in SCALE)
RATING_KEYS: tuple[str, ...] = tuple(q.key for q in FIRST.questions if q.kind == "scale")
ELEMENT_KEYS: tuple[str, ...] = tuple(
    q.key for q in sorted(FIRST.questions, key=lambda q: q.element or 0)
    if q.kind == "scale" and q.element is not None
)
# The overall question (q6): the one rating that is not an element.
OVERALL_KEY: str = next(
    q.key for q in FIRST.questions if q.kind == "scale" and q.element is None
)
INTEGRITY_KEY: str = next(q.key for q in FIRST.questions if q.kind == "single")
INTEGRITY_ANSWERS: tuple[str, ...] = FIRST.question(INTEGRITY_KEY).values
# The answer to q7 after which the thank-you page says where to lodge a formal complaint.
INTEGRITY_YES = "yes"
WISH_KEY: str = next(q.key for q in FIRST.questions if q.kind == "multi")
WISH_CODES: tuple[str, ...] = FIRST.question(WISH_KEY).values
ELEMENT_LABELS: dict[str, object] = {
    key: CURRENT.question(key).element_label for key in ELEMENT_KEYS
}
