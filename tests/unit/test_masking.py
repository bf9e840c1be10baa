"""Personal data in comments is masked; dates, sums, codes and addresses are left alone."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from survey_app.masking import KINDS, PLACEHOLDERS, mask_personal_data

CORPUS = Path(__file__).with_name("masking_corpus.tsv")
PROPERTY = settings(max_examples=500, deadline=None)


def _corpus() -> list[tuple[int, str, str]]:
    rows = []
    for number, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), start=1):
        if line and not line.startswith("#"):
            text, expected = line.split("\t")
            rows.append((number, text, expected))
    return rows


def _has_placeholder(text: str) -> bool:
    return any(placeholder in text for placeholder in PLACEHOLDERS.values())


def test_the_corpus_masks_every_piece_of_personal_data_and_nothing_else():
    rows = _corpus()
    personal = [row for row in rows if _has_placeholder(row[2])]
    look_alikes = [row for row in rows if row[1] == row[2]]
    assert len(rows) >= 300
    assert len(personal) >= 120
    assert len(look_alikes) >= 150
    # Every kind of data is in the corpus, each in several spellings.
    for kind in KINDS:
        assert sum(PLACEHOLDERS[kind] in row[2] for row in personal) >= 4, kind

    misses, false_masks = [], []
    for number, text, expected in rows:
        got = mask_personal_data(text).text
        if got == expected:
            continue
        line = f"line {number}: {text!r} gave {got!r}, expected {expected!r}"
        # A false mask is a placeholder where the expected text has none; any other
        # difference leaves personal data showing (or masks it as the wrong kind).
        if got.count("[") > expected.count("["):
            false_masks.append(line)
        else:
            misses.append(line)
    report = "\n".join(
        [f"{len(misses)} misses:", *misses, f"{len(false_masks)} false masks:", *false_masks]
    )
    assert (len(misses), len(false_masks)) == (0, 0), report


def test_the_look_alikes_say_they_were_not_masked():
    for _number, text, expected in _corpus():
        if text == expected:
            result = mask_personal_data(text)
            assert not result.is_masked, text
            assert result.kinds == frozenset()


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Gọi 0912 345 678, email an.le@gmail.com", {"phone", "email"}),
        ("CCCD 001099012345", {"cccd"}),
        ("CMND 197123456", {"cmnd"}),
        ("STK 0011004123456 Vietcombank", {"account"}),
        ("Mã số thuế 8012345678", {"number"}),
    ],
)
def test_the_result_names_the_kinds_found(text, kinds):
    assert mask_personal_data(text).kinds == kinds


def test_digits_hidden_behind_invisible_characters_and_other_widths_are_masked():
    for text in ("0\u200b9\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8",
                 "\u0660\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
                 "０９１２－３４５－６７８", "0912\u2009345\u202f678", "0912\u2013345\u2013678"):
        assert mask_personal_data(f"Gọi {text} nhé").text == "Gọi [SĐT] nhé", text


def test_public_hotlines_are_not_masked():
    for text in ("1900 1234", "1900.6789", "19001234", "1800 599 920", "1800-1234"):
        assert mask_personal_data(f"Tổng đài {text} không ai nghe").kinds == frozenset()


def test_the_text_around_a_mask_is_kept_as_typed():
    text = "  Quầy\t3:\n  gọi 0912345678!  "
    assert mask_personal_data(text).text == "  Quầy\t3:\n  gọi [SĐT]!  "


def test_huge_input_is_masked_in_reasonable_time():
    text = ("0912 345 678 . " * 500) + ("1 " * 5000)
    result = mask_personal_data(text)
    assert result.text.count("[SĐT]") == 500


# Properties -------------------------------------------------------------------------------

# Text made of what comments are made of, digits, separators and the characters that try to
# hide them.
pieces = st.sampled_from(
    [*"0123456789", " ", ".", "-", "/", ":", "+", "(", ")", "@", "\u200b", "\u00a0", "０", "９",
     "đ", "k", "h", "a", "Z", "\n", "gmail.com", "SĐT ", "STK ", "CCCD ", "ngày ", "đồng",
     "hồ sơ ", "0912345678", "[SĐT]", "]", "["]
)
texts = st.lists(pieces, max_size=40).map("".join) | st.text(max_size=80)


@PROPERTY
@given(texts)
@example("0912345678123456789")
@example("a@bc.vn0912345678")
@example("00912345678 0912345678")
@example("4111 1111 1111 1111 0912345678")
@example("STK 1/2 0912345678 123456")
@example("00912345678:0912345678")
@example("001099012345-an@gmail.com")
def test_masking_twice_changes_nothing_more(text):
    once = mask_personal_data(text)
    twice = mask_personal_data(once.text)
    assert twice.text == once.text
    assert twice.kinds == frozenset()


@PROPERTY
@given(texts)
def test_masking_never_makes_a_comment_longer(text):
    assert len(mask_personal_data(text).text) <= len(unicodedata.normalize("NFC", text))


@PROPERTY
@given(texts)
def test_a_text_is_changed_exactly_when_something_was_found(text):
    result = mask_personal_data(text)
    assert (result.text != unicodedata.normalize("NFC", text)) == result.is_masked


@PROPERTY
@given(st.text(alphabet=st.characters(blacklist_categories=["Nd", "Cs"]), max_size=200)
       .filter(lambda t: "@" not in unicodedata.normalize("NFKC", t)))
def test_a_text_without_digits_or_at_sign_is_never_masked(text):
    assert mask_personal_data(text).text == unicodedata.normalize("NFC", text)


mobile = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["03", "05", "07", "08", "09"]),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


def _grouped(digits: str, cuts: list[int], separator: str) -> str:
    parts, at = [], 0
    for cut in sorted(set(cuts)):
        if at < cut < len(digits):
            parts.append(digits[at:cut])
            at = cut
    parts.append(digits[at:])
    return separator.join(parts)


@PROPERTY
@given(
    mobile,
    st.lists(st.integers(1, 9), max_size=4),
    st.sampled_from([" ", ".", "-", " - ", "\u00a0", ""]),
    st.sampled_from(["", "+84 ", "+84", "84"]),
    st.sampled_from(["Gọi {} giúp tôi.", "SĐT: {}", "{}", "Zalo {}, cảm ơn", "đt({})"]),
)
def test_every_mobile_number_is_masked_in_any_grouping(digits, cuts, separator, country, frame):
    number = _grouped(digits, cuts, separator)
    if country:
        number = country + number[1:].lstrip(" .-\u00a0")
    result = mask_personal_data(frame.format(number))
    assert result.text == frame.format("[SĐT]")
    assert result.kinds == {"phone"}


@PROPERTY
@given(
    st.integers(1, 31), st.integers(1, 12), st.integers(1990, 2035),
    st.sampled_from(["/", ".", "-"]),
    st.integers(1, 999), st.integers(0, 999), st.sampled_from(["đồng", "đ", "VNĐ", ""]),
)
def test_dates_and_sums_are_never_masked(day, month, year, mark, thousands, units, currency):
    date = mark.join([f"{day:02d}", f"{month:02d}", str(year)])
    money = f"{thousands}.{units:03d}.000 {currency}".strip()
    text = f"Ngày {date} nộp {money} tại quầy 3 lúc 8h30"
    assert mask_personal_data(text).text == text
