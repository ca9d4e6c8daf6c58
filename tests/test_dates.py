"""newscrawl.parsing.dates: Jalali/ISO/RSS dates → Tehran time.

Every expected value is worked out by hand from two anchors, 1 Farvardin 1391 = 2012-03-20 and
1 Farvardin 1397 = 2018-03-21 (months 1-6 have 31 days, 7-11 have 30), and Iran's DST rule: +04:30 from
2 Farvardin to 30 Shahrivar in 2008-2022, +03:30 otherwise (abolished from 1402 = 2023).
"""

import datetime as dt

import jdatetime
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from parsel import Selector

from newscrawl.parsing.dates import (
    TEHRAN,
    jalali_str,
    parse_date_arg,
    parse_iso,
    parse_jalali,
    parse_rfc822,
    to_tehran_iso,
)

SUMMER = dt.timedelta(hours=4, minutes=30)
WINTER = dt.timedelta(hours=3, minutes=30)


def iso(value):
    return None if value is None else value.isoformat()


# -- parse_jalali: the layouts sites use ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۳۰ تير ۱۳۹۷ - ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),  # tabnak .fa_date, Arabic ي
        ("۳۰ تیر ۱۳۹۷ - ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),
        ("تاریخ انتشار: ۳۰ تير ۱۳۹۷ - ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),  # label in front
        ("تاریخ انتشار: ۳۰ تير ۱۳۹۷ - ۰۰:۲۰ 21 July 2018", "2018-07-21T00:20:00+04:30"),  # + .en_date
        ("۱۹:۰۸ - ۲۸-۰۸-۱۳۹۱", "2012-11-18T19:08:00+03:30"),  # seed: time first, D-M-Y
        ("تاریخ انتشار: ۱۹:۰۸ - ۲۸-۰۸-۱۳۹۱", "2012-11-18T19:08:00+03:30"),
        ("۰۱:۲۰ - ۱۳۹۷/۰۴/۳۰", "2018-07-21T01:20:00+04:30"),  # tabnak comments
        ("۰۹:۰۴ - ۱۳۹۷/۰۴/۳۰", "2018-07-21T09:04:00+04:30"),
        ("۲۱ تیر ۱۳۹۸ / ۱۸:۰۰", "2019-07-12T18:00:00+04:30"),  # ISNA
        ("جمعه ۲۱ تیر ۱۳۹۸ - ۲۳:۰۱", "2019-07-12T23:01:00+04:30"),  # weekday in front
        ("جمعه / ۲۱ تیر ۱۳۹۸ / ۱۸:۰۰", "2019-07-12T18:00:00+04:30"),
        ("۲۱ تیر ۱۳۹۸، ۱۸:۰۰", "2019-07-12T18:00:00+04:30"),  # Mehr/IRNA «،»
        ("21 تیر 1398 18:00", "2019-07-12T18:00:00+04:30"),  # ASCII digits
        ("٢١ تير ١٣٩٨ - ١٨:٠٠", "2019-07-12T18:00:00+04:30"),  # Arabic-Indic digits
        ("۲۱ تیر ۱۳۹۸ ساعت ۱۸:۰۰", "2019-07-12T18:00:00+04:30"),
        ("۱۳۹۷/۰۴/۳۰ - ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),
        ("۱۳۹۷/۰۴/۳۰ ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),
        ("۱۳۹۷/۴/۳۰ ۰:۲۰", "2018-07-21T00:20:00+04:30"),  # no leading zeros
        ("۱۳۹۷-۰۴-۳۰ ۰۰:۲۰:۱۸", "2018-07-21T00:20:18+04:30"),  # seconds
        ("۰۴ آذر ۱۴۰۳", "2024-11-24T00:00:00+03:30"),  # date only → midnight
        ("۱۲ مرداد ۱۴۰۳ - ۱۴:۳۰", "2024-08-02T14:30:00+03:30"),  # summer 2024: no DST any more
        ("۱۲ مرداد ۱۴۰۳ - ۰۲:۳۰ ب.ظ", "2024-08-02T14:30:00+03:30"),  # p.m.
        ("۱۲ مرداد ۱۴۰۳ - ۰۲:۳۰ ق.ظ", "2024-08-02T02:30:00+03:30"),  # a.m.
        ("۳۰\u200cتیر ۱۳۹۷ - ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),  # ZWNJ instead of a space
        ("  ۳۰   تیر\u200c  ۱۳۹۷  -  ۰۰:۲۰ ", "2018-07-21T00:20:00+04:30"),  # extra spaces
        ("\u200f۳۰ تیر ۱۳۹۷\u200e - ۰۰:۲۰", "2018-07-21T00:20:00+04:30"),  # bidi marks
        ("۳۰ تیر ماه ۱۳۹۷", "2018-07-21T00:00:00+04:30"),
        ("۳۰ تیرماه ۱۳۹۷", "2018-07-21T00:00:00+04:30"),
    ],
)
def test_parse_jalali_layouts(raw, expected):
    assert iso(parse_jalali(raw)) == expected


@pytest.mark.parametrize(
    ("month", "gregorian", "offset"),
    [  # the 1st of every month of 1397, at noon
        ("فروردین", "2018-03-21", "+03:30"),  # 1 Farvardin: DST starts the next day
        ("اردیبهشت", "2018-04-21", "+04:30"),
        ("خرداد", "2018-05-22", "+04:30"),
        ("تیر", "2018-06-22", "+04:30"),
        ("مرداد", "2018-07-23", "+04:30"),
        ("شهریور", "2018-08-23", "+04:30"),
        ("مهر", "2018-09-23", "+03:30"),
        ("آبان", "2018-10-23", "+03:30"),
        ("آذر", "2018-11-22", "+03:30"),
        ("دی", "2018-12-22", "+03:30"),
        ("بهمن", "2019-01-21", "+03:30"),
        ("اسفند", "2019-02-20", "+03:30"),
    ],
)
def test_every_month(month, gregorian, offset):
    assert iso(parse_jalali(f"۱ {month} ۱۳۹۷ - ۱۲:۰۰")) == f"{gregorian}T12:00:00{offset}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۱ فروردين ۱۳۹۷", "2018-03-21T00:00:00+03:30"),  # Arabic ي
        ("۱ ارديبهشت ۱۳۹۷", "2018-04-21T00:00:00+04:30"),
        ("۱ شهريور ۱۳۹۷", "2018-08-23T00:00:00+04:30"),
        ("۱ امرداد ۱۳۹۷", "2018-07-23T00:00:00+04:30"),
        ("۱ ابان ۱۳۹۷", "2018-10-23T00:00:00+03:30"),  # without madda
        ("۱ اذر ۱۳۹۷", "2018-11-22T00:00:00+03:30"),
        ("۱۰ دي ۱۳۹۷", "2018-12-31T00:00:00+03:30"),
        ("۱۰ دیماه ۱۳۹۷", "2018-12-31T00:00:00+03:30"),
        ("۱ مهر ماه ۱۳۹۷", "2018-09-23T00:00:00+03:30"),
    ],
)
def test_month_spellings(raw, expected):
    assert iso(parse_jalali(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۱ فروردین ۱۳۹۱", "2012-03-20T00:00:00+03:30"),
        ("۱ فروردین ۱۳۹۷ ۲۳:۳۰", "2018-03-21T23:30:00+03:30"),  # last half hour before the switch
        ("۲ فروردین ۱۳۹۷ ۰۱:۰۰", "2018-03-22T01:00:00+04:30"),  # first minute after (00:00-01:00 skipped)
        ("۲ فروردین ۱۳۹۷ ۱۲:۰۰", "2018-03-22T12:00:00+04:30"),
        ("۳۰ شهریور ۱۳۹۷ ۱۲:۰۰", "2018-09-21T12:00:00+04:30"),
        ("۳۰ شهریور ۱۳۹۷ ۲۳:۳۰", "2018-09-21T23:30:00+04:30"),  # repeated hour: the first one
        ("۳۱ شهریور ۱۳۹۷ ۱۲:۰۰", "2018-09-22T12:00:00+03:30"),
        ("۱ فروردین ۱۳۹۹ ۱۲:۰۰", "2020-03-20T12:00:00+03:30"),  # Nowruz on 20 March that year
        ("۲ فروردین ۱۳۹۹ ۱۲:۰۰", "2020-03-21T12:00:00+04:30"),
        ("۱ تیر ۱۴۰۱ ۱۲:۰۰", "2022-06-22T12:00:00+04:30"),  # 2022: the last DST summer
        ("۱ تیر ۱۴۰۲ ۱۲:۰۰", "2023-06-22T12:00:00+03:30"),  # 2023: none
        ("۱ تیر ۱۴۰۳ ۱۲:۰۰", "2024-06-21T12:00:00+03:30"),
    ],
)
def test_tehran_offset_edges(raw, expected):
    assert iso(parse_jalali(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۳۰ اسفند ۱۴۰۳ ۱۲:۰۰", "2025-03-20T12:00:00+03:30"),  # 1403 is leap
        ("۳۰ اسفند ۱۳۹۹", "2021-03-20T00:00:00+03:30"),  # 1399 is leap
        ("۳۰ اسفند ۱۳۹۱", "2013-03-20T00:00:00+03:30"),  # 1391 is leap
    ],
)
def test_esfand_30_in_leap_years(raw, expected):
    assert iso(parse_jalali(raw)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "۳۲ تير ۱۳۹۷",  # day 32
        "۳۱ مهر ۱۳۹۷ - ۱۰:۰۰",  # Mehr has 30 days
        "۰ تیر ۱۳۹۷",
        "۳۰ اسفند ۱۴۰۲",  # not leap
        "۳۰ اسفند ۱۳۹۷",
        "1397/13/01",  # month 13
        "۱۳۹۷/۰۰/۱۰",
        "۰۱:۲۰ - ۱۳۹۷/۰۴/۳۲",
        "۳۰ تیر ۱۳۹۷ - ۲۵:۰۰",  # hour 25
        "۳۰ تیر ۱۳۹۷ - ۱۰:۶۰",  # minute 60
        "2018-07-21",  # a Gregorian date is not a Jalali one
        "21 July 2018",
        "۳۰ تیر ۹۷",  # two-digit year: ambiguous
        "۴ دقیقه قبل",  # "4 minutes ago"
        "بدون تاریخ",
        "تیر",
        "",
        "   ",
        None,
    ],
)
def test_parse_jalali_rejects(raw):
    assert parse_jalali(raw) is None


def test_parse_jalali_result_is_in_tehran():
    value = parse_jalali("۳۰ تير ۱۳۹۷ - ۰۰:۲۰")
    assert value.tzinfo is TEHRAN
    assert value.astimezone(dt.UTC) == dt.datetime(2018, 7, 20, 19, 50, tzinfo=dt.UTC)


# -- real pages ----------------------------------------------------------------------------------------
def test_tabnak_article_dates(realpage):
    page = Selector(text=realpage("tabnak/article-1.html").decode("utf-8"))
    assert iso(parse_jalali(page.css(".fa_date::text").get())) == "2018-07-21T00:20:00+04:30"
    assert iso(parse_jalali(" ".join(page.css(".news_pdate_c ::text").getall()))) == "2018-07-21T00:20:00+04:30"
    comments = [iso(parse_jalali(t)) for t in page.css(".comm_info_date::text").getall()]
    assert comments == [
        "2018-07-21T01:20:00+04:30",
        "2018-07-21T01:26:00+04:30",
        "2018-07-21T01:43:00+04:30",
        "2018-07-21T03:42:00+04:30",
        "2018-07-21T09:04:00+04:30",
    ]


def test_isna_article_dates(realpage):
    page = Selector(text=realpage("isna/article-1.html").decode("utf-8"))
    assert iso(parse_jalali(page.css(".text-meta::text").get())) == "2019-07-12T18:00:00+04:30"
    assert iso(parse_jalali(page.css("time::attr(title)").get())) == "2019-07-12T22:56:00+04:30"


def test_rss_feeds(realpage):
    tabnak = Selector(text=realpage("tabnak/rss-1.xml").decode("utf-8"), type="xml")
    dates = [parse_rfc822(t) for t in tabnak.xpath("//item/pubDate/text()").getall()]
    assert len(dates) == 100 and None not in dates
    assert to_tehran_iso(dates[0]) == "2018-07-21T08:39:54+04:30"
    tasnim = Selector(text=realpage("tasnim/rss-1.xml").decode("utf-8"), type="xml")
    first = tasnim.xpath("//item/pubDate/text()").get()
    assert first.strip() == "Tue, 02 Jul 2019 08:38:00 +0430"
    assert to_tehran_iso(parse_rfc822(first)) == "2019-07-02T08:38:00+04:30"


# -- ISO and RSS -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-07-21T00:20:18+04:30", "2018-07-21T00:20:18+04:30"),  # tabnak JSON-LD
        ("2018-07-21T00:20:18+0430", "2018-07-21T00:20:18+04:30"),
        ("2018-07-20T19:50:18Z", "2018-07-21T00:20:18+04:30"),
        ("2018-07-20T19:50:18.123Z", "2018-07-21T00:20:18+04:30"),
        ("2018-07-20 19:50:18+00:00", "2018-07-21T00:20:18+04:30"),
        ("2019-07-12 18:00:56.883", "2019-07-12T18:00:56+04:30"),  # naive → Tehran
        ("2019-07-12T18:00", "2019-07-12T18:00:00+04:30"),
        ("2019-07-12", "2019-07-12T00:00:00+04:30"),
        (" 2024-07-21T12:00:00Z ", "2024-07-21T15:30:00+03:30"),
        ("۲۰۱۸-۰۷-۲۱T۰۰:۲۰:۱۸+۰۴:۳۰", "2018-07-21T00:20:18+04:30"),  # Persian digits
        ("1397-04-30T00:20:00+04:30", "2018-07-21T00:20:00+04:30"),  # a Jalali date in ISO dress
    ],
)
def test_parse_iso(value, expected):
    assert to_tehran_iso(parse_iso(value)) == expected


def test_parse_iso_keeps_fraction_and_zone():
    value = parse_iso("2019-07-12 18:00:56.883")
    assert value.microsecond == 883000 and value.tzinfo is TEHRAN
    assert parse_iso("2018-07-20T19:50:18Z").utcoffset() == dt.timedelta(0)


def test_parse_iso_naive_tz():
    assert to_tehran_iso(parse_iso("2019-07-12 13:30:00", naive_tz=dt.UTC)) == "2019-07-12T18:00:00+04:30"
    assert to_tehran_iso(parse_iso("2019-07-12T13:30:00+04:30", naive_tz=dt.UTC)) == "2019-07-12T13:30:00+04:30"


@pytest.mark.parametrize(
    "value",
    ["", None, "   ", "yesterday", "2018-13-01", "2018-02-30T10:00:00", "0001-01-01T00:00:00+05:00",
     "9999-12-31T23:59:59-05:00", "1397-12-30T00:00:00", "۳۰ تیر ۱۳۹۷", "21 Jul 2018 08:39:54 +0430"],
)
def test_parse_iso_rejects(value):
    assert parse_iso(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("21 Jul 2018 08:39:54 +0430", "2018-07-21T08:39:54+04:30"),  # tabnak: no weekday
        ("Tue, 02 Jul 2019 08:38:00 +0430", "2019-07-02T08:38:00+04:30"),  # tasnim
        ("Sat, 21 Jul 2018 04:09:54 GMT", "2018-07-21T08:39:54+04:30"),
        ("Sat, 21 Jul 2018 04:09:54 +0000", "2018-07-21T08:39:54+04:30"),
        ("21 Jul 2018 08:39:54", "2018-07-21T08:39:54+04:30"),  # no zone → Tehran
        ("  21 Jul 2018 08:39 +0430  ", "2018-07-21T08:39:00+04:30"),
        ("Sun, 21 Jul 2024 12:00:00 +0000", "2024-07-21T15:30:00+03:30"),
        ("2018-07-21T08:39:54+04:30", "2018-07-21T08:39:54+04:30"),  # ISO in a pubDate
    ],
)
def test_parse_rfc822(value, expected):
    assert to_tehran_iso(parse_rfc822(value)) == expected


@pytest.mark.parametrize("value", ["", None, "not a date", "32 Jul 2018 08:00:00 +0430", "21 Foo 2018 08:00:00"])
def test_parse_rfc822_rejects(value):
    assert parse_rfc822(value) is None


# -- to_tehran_iso ----------------------------------------------------------------------------------------
def test_to_tehran_iso():
    assert to_tehran_iso(dt.datetime(2018, 7, 20, 19, 50, tzinfo=dt.UTC)) == "2018-07-21T00:20:00+04:30"
    assert to_tehran_iso(dt.datetime(2024, 7, 21, 12, 0, tzinfo=dt.UTC)) == "2024-07-21T15:30:00+03:30"
    assert to_tehran_iso(dt.datetime(2012, 11, 18, 15, 38, 0, 999999, tzinfo=dt.UTC)) == "2012-11-18T19:08:00+03:30"
    fixed = dt.timezone(dt.timedelta(hours=4, minutes=30))
    assert to_tehran_iso(dt.datetime(2018, 7, 21, 0, 20, tzinfo=fixed)) == "2018-07-21T00:20:00+04:30"
    assert to_tehran_iso(dt.datetime(2018, 7, 21, 0, 20)) == "2018-07-21T00:20:00+04:30"  # naive = Tehran


def test_to_tehran_iso_resolves_the_spring_forward_gap():
    # 2 Farvardin 1397 00:30 never happened on Tehran clocks (00:00 → 01:00): the instant is 01:30 DST
    assert to_tehran_iso(parse_jalali("۲ فروردین ۱۳۹۷ ۰۰:۳۰")) == "2018-03-22T01:30:00+04:30"


# -- since/until arguments --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1397/04/30", dt.date(2018, 7, 21)),
        ("1397-04-30", dt.date(2018, 7, 21)),
        ("۱۳۹۷/۰۴/۳۰", dt.date(2018, 7, 21)),
        ("1397/4/29", dt.date(2018, 7, 20)),
        (" 1391/01/01 ", dt.date(2012, 3, 20)),
        ("1403/12/30", dt.date(2025, 3, 20)),
        ("2018-07-21", dt.date(2018, 7, 21)),  # year >= 1700: Gregorian
        ("2018/07/21", dt.date(2018, 7, 21)),
    ],
)
def test_parse_date_arg(value, expected):
    assert parse_date_arg(value) == expected


def test_parse_date_arg_relative():
    today = dt.datetime.now(TEHRAN).date()
    assert parse_date_arg("today") == today
    assert parse_date_arg("Today") == today
    assert parse_date_arg("yesterday") == today - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1397/13/01", "since: '1397/13/01' is not a valid Jalali date"),
        ("1402/12/30", "since: '1402/12/30' is not a valid Jalali date"),
        ("2018-02-30", "since: '2018-02-30' is not a valid Gregorian date"),
        ("last week", "since: 'last week' is not a date"),
        ("1397/04", "since: '1397/04' is not a date"),
        ("", "since: '' is not a date"),
    ],
)
def test_parse_date_arg_errors(value, message):
    with pytest.raises(ValueError) as err:
        parse_date_arg(value, "since")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_parse_date_arg_default_name():
    with pytest.raises(ValueError, match=r"^date: '1397/13/01' is not a valid Jalali date$"):
        parse_date_arg("1397/13/01")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2018, 7, 21), "1397/04/30"),
        (dt.date(2018, 7, 20), "1397/04/29"),
        (dt.date(2012, 3, 20), "1391/01/01"),
        (dt.date(2012, 11, 18), "1391/08/28"),
        (dt.date(2025, 3, 20), "1403/12/30"),
        (dt.date(2025, 3, 21), "1404/01/01"),
        (dt.datetime(2024, 11, 24, 23, 59), "1403/09/04"),
    ],
)
def test_jalali_str(day, expected):
    assert jalali_str(day) == expected


# -- properties --------------------------------------------------------------------------------------------
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
MONTH_NAMES = [  # written here, not imported: each month with the spellings a page may use
    ["فروردین", "فروردين"], ["اردیبهشت", "ارديبهشت"], ["خرداد"], ["تیر", "تير"], ["مرداد"],
    ["شهریور", "شهريور"], ["مهر"], ["آبان"], ["آذر"], ["دی", "دي"], ["بهمن"], ["اسفند"],
]


@st.composite
def jalali_datetimes(draw, years=(1300, 1450)):
    year = draw(st.integers(*years))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 31))
    try:
        jdatetime.date(year, month, day)
    except ValueError:
        assume(False)
    return year, month, day, draw(st.integers(0, 23)), draw(st.integers(0, 59))


def wall_time(value):
    """The Jalali wall-clock time of a parsed value, computed by jdatetime (not by the code under test)."""
    j = jdatetime.datetime.fromgregorian(datetime=value.replace(tzinfo=None))
    return j.year, j.month, j.day, j.hour, j.minute


@given(jalali_datetimes(), st.data())
def test_round_trip_named_month(when, data):
    year, month, day, hour, minute = when
    name = data.draw(st.sampled_from(MONTH_NAMES[month - 1]))
    digits = data.draw(st.sampled_from([PERSIAN, ARABIC_INDIC, str.maketrans("", "")]))
    sep = data.draw(st.sampled_from([" - ", " / ", "، ", " ", " ساعت "]))
    raw = f"{day} {name} {year}{sep}{hour:02d}:{minute:02d}".translate(digits)
    value = parse_jalali(raw)
    assert value is not None, raw
    assert value.tzinfo is TEHRAN
    assert wall_time(value) == when


@given(jalali_datetimes())
def test_round_trip_numeric_layouts(when):
    year, month, day, hour, minute = when
    for layout in (f"{hour:02d}:{minute:02d} - {day:02d}-{month:02d}-{year}",
                   f"{hour:02d}:{minute:02d} - {year}/{month:02d}/{day:02d}",
                   f"{year}/{month:02d}/{day:02d} - {hour:02d}:{minute:02d}"):
        value = parse_jalali(layout.translate(PERSIAN))
        assert value is not None, layout
        assert wall_time(value) == when


@given(jalali_datetimes(years=(1387, 1450)))
def test_offset_follows_irans_dst_rule(when):
    year, month, day, _, _ = when
    value = parse_jalali(f"{day} {MONTH_NAMES[month - 1][0]} {year} 12:00".translate(PERSIAN))
    dst = year <= 1401 and (1, 2) <= (month, day) <= (6, 30)
    assert value.utcoffset() == (SUMMER if dst else WINTER)


@given(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)))
def test_jalali_str_and_parse_date_arg_agree(day):
    assert parse_date_arg(jalali_str(day)) == day
    assert parse_date_arg(jalali_str(day).translate(PERSIAN).replace("/", "-")) == day


# Garbage that looks like dates: digits in three scripts, month names, separators, colons.
date_soup = st.lists(
    st.sampled_from(
        list("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣:/-.، ZT+\u200c\u200e") + ["تیر", "تير", "اسفند", "دی", "ماه", "ساعت",
                                                                "ب.ظ", "Jul", "Tue,", "GMT", "+0430", "1397", "2018"]
    ),
    max_size=30,
).map("".join)
garbage = st.one_of(st.none(), st.text(), date_soup)


def _ok(value):
    return value is None or (isinstance(value, dt.datetime) and value.tzinfo is not None)


@given(garbage)
def test_parsers_never_raise(text):
    for parse in (parse_jalali, parse_iso, parse_rfc822):
        value = parse(text)
        assert _ok(value), (parse.__name__, text, value)
        if value is not None:
            assert to_tehran_iso(value)  # and the result is usable downstream
    jalali = parse_jalali(text)
    assert jalali is None or jalali.tzinfo is TEHRAN


@given(st.text())
def test_parse_date_arg_garbage_is_a_value_error(text):
    try:
        assert isinstance(parse_date_arg(text), dt.date)
    except ValueError as err:
        assert "\n" not in str(err)
