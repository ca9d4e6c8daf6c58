"""Dates as Persian news sites show them (Jalali, Persian digits, Tehran wall clock) → aware datetimes.

The calendar is jdatetime's; the offset is tzdata's Asia/Tehran (+04:30 in summer until 2022, +03:30
otherwise), never a fixed offset. Parsers return None instead of raising: pages are untrusted input.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import jdatetime

from newscrawl.parsing.text import ascii_digits, normalize

TEHRAN = ZoneInfo("Asia/Tehran")

# Month names after normalize(): Persian ی/ک only, but Arabic ي/ك spellings are added below so the table
# also works on raw text. Common variants: without madda (اذر, ابان), امرداد («دیماه» is the regex's job).
MONTHS: dict[str, int] = {
    "فروردین": 1, "اردیبهشت": 2, "خرداد": 3, "تیر": 4, "مرداد": 5, "امرداد": 5, "شهریور": 6,
    "مهر": 7, "آبان": 8, "ابان": 8, "آذر": 9, "اذر": 9, "دی": 10, "بهمن": 11, "اسفند": 12,
}
MONTHS.update({name.replace("ی", "ي").replace("ک", "ك"): n for name, n in list(MONTHS.items())})

JALALI_YEARS = range(1200, 1700)  # a 4-digit year >= 1700 is Gregorian (parse_date_arg, parse_iso)
_YEARS = range(1200, 3000)  # anything else is garbage, and would overflow in tz arithmetic near 1/9999

_N = r"(?<![0-9])([0-9]{1,2})"
_Y = r"(?<![0-9])([0-9]{4})(?![0-9])"
_MONTH = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
_TIME = r"(?<![0-9:])([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?![0-9:])(?:\s*(ق\.?\s?ظ|ب\.?\s?ظ))?"
_SEP = r"(?:[\s\-–—/،,|]|ساعت)*"
_DATES = (  # (regex of the date part, order of its (year, month, day) groups)
    (rf"{_N}[\s\u200c]*({_MONTH})(?:[\s\u200c]*ماه)?[\s\u200c]*{_Y}", (3, 2, 1)),  # ۳۰ تیر ۱۳۹۷
    (rf"{_Y}(?P<sep>[/\-.])([0-9]{{1,2}})(?P=sep)([0-9]{{1,2}})(?![0-9])", (1, 3, 4)),  # ۱۳۹۷/۰۴/۳۰
    (rf"{_N}(?P<sep>[/\-.])([0-9]{{1,2}})(?P=sep){_Y}", (4, 3, 1)),  # ۲۸-۰۸-۱۳۹۱
)
# the time may stand before or after the date: «۰۱:۲۰ - ۱۳۹۷/۰۴/۳۰», «۳۰ تیر ۱۳۹۷ - ۰۰:۲۰»
_JALALI = [
    (re.compile(rf"(?:{_TIME}{_SEP})?{date}(?:{_SEP}{_TIME})?"), order) for date, order in _DATES
]
_DATE_ARG = re.compile(r"([0-9]{4})([/\-.])([0-9]{1,2})\2([0-9]{1,2})")


@functools.lru_cache(maxsize=4096)
def _jalali_to_gregorian(year: int, month: int, day: int) -> dt.date:
    """ValueError for an impossible Jalali date (month 13, day 32, 30 Esfand of a common year).
    Cached: a crawl's articles share a few days, and jdatetime's conversion is the date parser's cost."""
    return jdatetime.date(year, month, day).togregorian()


def _clock(hour: str | None, minute: str | None, second: str | None, half: str | None) -> tuple[int, ...]:
    if hour is None:
        return (0, 0, 0)
    h = int(hour)
    if half and half.startswith("ب") and h < 12:  # ب.ظ = p.m.
        h += 12
    elif half and half.startswith("ق") and h == 12:  # ۱۲ ق.ظ = midnight
        h = 0
    return (h, int(minute), int(second or 0))


def _jalali(raw: str | None) -> tuple[dt.datetime, bool] | None:
    """(the moment, whether the text gave its time of day) of the first Jalali date in `raw`."""
    try:
        text = normalize(raw, digits="ascii")
        for pattern, (yi, mi, di) in _JALALI:
            match = pattern.search(text)
            if not match:
                continue
            g = match.groups()  # 4 time groups, the date's groups, 4 time groups
            date = g[4:-4]
            year, day = int(date[yi - 1]), int(date[di - 1])
            month = MONTHS.get(date[mi - 1]) or int(date[mi - 1])
            if year not in JALALI_YEARS:
                return None
            greg = _jalali_to_gregorian(year, month, day)
            time = g[-4:] if g[-4] is not None else g[:4]
            moment = dt.datetime(greg.year, greg.month, greg.day, *_clock(*time), tzinfo=TEHRAN)
            return moment, time[0] is not None
        return None
    except Exception:  # untrusted text: "not a date" is the only failure mode
        return None


def parse_jalali(raw: str | None) -> dt.datetime | None:
    """«۳۰ تير ۱۳۹۷ - ۰۰:۲۰» → 2018-07-21 00:20+04:30 (Tehran's real offset then); None if not a date."""
    found = _jalali(raw)
    return found[0] if found else None


def jalali_has_time(raw: str | None) -> bool:
    """Whether the Jalali date in `raw` comes with its time of day («۱۳۹۸/۰۲/۱۱ ۱۹:۰۴», not «۱۳۹۸/۰۲/۱۱»):
    a page showing the time in an element of its own needs it joined to the date (clock_text)."""
    found = _jalali(raw)
    return bool(found and found[1])


#: a time of day alone, after a label that names one («ساعت ۱۹:۰۴», «زمان: 19:04», «ساعت انتشار:»; not
#: «مدت: ۰۳:۴۵», a video's length), separators around it; «۰۷:۰۴ ب.ظ»
_CLOCK = re.compile(r"[\s\-–—/|،,]*(?:[^0-9:]{0,20}(?:ساعت|زمان|انتشار)[^0-9:]{0,20}:?\s*)?"
                    rf"(?P<time>{_TIME})[\s\-–—/|،,]*")


def clock_text(raw: str | None) -> str | None:
    """The time of day as written (digits kept) when `raw` is a time and nothing else but a label: «زمان:
    ۱۹:۰۴» → «۱۹:۰۴»; None for anything else (a date, a duration past 23:59, a sentence)."""
    text = normalize(raw)
    match = _CLOCK.fullmatch(ascii_digits(text))  # ascii_digits keeps every position: spans map back
    if not match:
        return None
    hour, minute, second = (int(v or 0) for v in match.group(2, 3, 4))  # group 1 is the whole time
    if hour > 23 or minute > 59 or second > 59:
        return None
    return text[match.start("time"):match.end("time")]


def _plausible(value: dt.datetime, naive_tz: dt.tzinfo) -> dt.datetime | None:
    if value.year not in _YEARS:
        return None
    if value.year in JALALI_YEARS:  # «1397-04-30T00:20:00»: some Iranian CMSs put Jalali dates in ISO form
        g = _jalali_to_gregorian(value.year, value.month, value.day)
        value = value.replace(year=g.year, month=g.month, day=g.day)
    return value if value.tzinfo is not None else value.replace(tzinfo=naive_tz)


def parse_iso(value: str | None, naive_tz: dt.tzinfo = TEHRAN) -> dt.datetime | None:
    """ISO 8601 from JSON-LD/meta («Z», «+0430», «+04:30», space separator, fractions); naive → naive_tz."""
    try:
        text = normalize(value, digits="ascii")
        if not text:
            return None
        return _plausible(dt.datetime.fromisoformat(text), naive_tz)
    except Exception:  # untrusted text
        return None


def parse_rfc822(value: str | None, naive_tz: dt.tzinfo = TEHRAN) -> dt.datetime | None:
    """RSS pubDate, weekday optional («21 Jul 2018 08:39:54 +0430»); no zone → naive_tz; ISO accepted too."""
    try:
        text = normalize(value, digits="ascii")
        if not text:
            return None
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return parse_iso(text, naive_tz)
        return _plausible(parsed, naive_tz)
    except Exception:  # untrusted text
        return None


def to_tehran_iso(value: dt.datetime) -> str:
    """Tehran wall time with its offset, e.g. "2018-07-21T00:20:00+04:30" (naive input = Tehran time).

    Goes through UTC so that a wall time in the spring-forward gap comes out as the real instant.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=TEHRAN)
    return value.astimezone(dt.UTC).astimezone(TEHRAN).isoformat(timespec="seconds")


def parse_date_arg(value: str, name: str = "date") -> dt.date:
    """since/until: Jalali «1397/04/30» («-», Persian digits ok), Gregorian «2018-07-21», today, yesterday.

    ValueError with a one-line message naming the argument, e.g. "since: '1397/13/01' is not a valid
    Jalali date".
    """
    text = normalize(value, digits="ascii").lower()
    if text in ("today", "yesterday", "امروز", "دیروز"):
        today = dt.datetime.now(TEHRAN).date()
        return today if text in ("today", "امروز") else today - dt.timedelta(days=1)
    match = _DATE_ARG.fullmatch(text)
    if not match:
        raise ValueError(
            f"{name}: {value!r} is not a date (use Jalali YYYY/MM/DD like 1397/04/30, Gregorian YYYY-MM-DD, "
            "today or yesterday)"
        )
    year, month, day = int(match[1]), int(match[3]), int(match[4])
    calendar = "Gregorian" if year >= 1700 else "Jalali"
    try:
        if calendar == "Gregorian":
            return dt.date(year, month, day)
        return _jalali_to_gregorian(year, month, day)
    except (ValueError, OverflowError):
        raise ValueError(f"{name}: {value!r} is not a valid {calendar} date") from None


def jalali_str(day: dt.date) -> str:
    """Gregorian date → Jalali "YYYY/MM/DD" with ASCII digits, as archive URLs want it."""
    j = jdatetime.date.fromgregorian(year=day.year, month=day.month, day=day.day)
    return f"{j.year:04d}/{j.month:02d}/{j.day:02d}"
