"""ID numbers (GB 11643): published examples, check digit, dates, 15→18 conversion, lower-case x."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.core import id_numbers
from app.models.core.id_numbers import IdNumberError


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        ("11010519491231002X", dt.date(1949, 12, 31), "女"),  # the example printed in GB 11643-1999
        ("440524188001010014", dt.date(1880, 1, 1), "男"),  # the standard's other example
        ("110101199003077774", dt.date(1990, 3, 7), "男"),
    ],
)
def test_published_examples_are_valid(number, birth, sex):
    info = id_numbers.parse(number)
    assert info.number == number
    assert info.birth_date == birth
    assert info.sex == sex
    assert not info.converted_from_15


def test_wrong_check_digit_names_the_right_one():
    with pytest.raises(IdNumberError, match="校验位错误：最后一位应为 X"):
        id_numbers.parse("110105194912310021")


def test_lowercase_x_and_spaces_are_normalised():
    info = id_numbers.parse(" 110105 19491231 002x ")
    assert info.number == "11010519491231002X"


def test_fullwidth_digits_are_accepted():
    assert id_numbers.parse("１１０１０５１９４９１２３１００２Ｘ").number == "11010519491231002X"


def test_impossible_date_is_refused():
    body = "11010519490230002"  # 30 February
    with pytest.raises(IdNumberError, match="不是有效日期"):
        id_numbers.parse(body + id_numbers.check_digit(body))


def test_future_birth_date_is_refused():
    body = "110105" + "20990101" + "002"
    with pytest.raises(IdNumberError, match="在今天之后"):
        id_numbers.parse(body + id_numbers.check_digit(body), today=dt.date(2026, 1, 1))


def test_fifteen_digit_number_is_converted():
    info = id_numbers.parse("110105491231002")
    assert info.number == "11010519491231002X"
    assert info.converted_from_15
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.sex == "女"


@pytest.mark.parametrize(
    ("raw", "message"),
    [("1101051949123100", "应为 18 位"), ("11010519491231002A", "只能是数字"), ("", "应为 18 位")],
)
def test_bad_shapes_say_what_is_wrong(raw, message):
    with pytest.raises(IdNumberError, match=message):
        id_numbers.parse(raw)


def test_make_builds_valid_numbers_and_mask_hides_the_middle():
    number = id_numbers.make("532128", dt.date(1985, 6, 1), 17, "女")
    info = id_numbers.parse(number)
    assert (info.sex, info.birth_date) == ("女", dt.date(1985, 6, 1))
    assert id_numbers.mask(number) == number[:6] + "********" + number[-4:]
