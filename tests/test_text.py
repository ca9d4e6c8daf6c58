"""newscrawl.parsing.text: Persian normalization. Expected strings are written by hand (ZWNJ spelled \\u200c)."""

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parsel import Selector

from newscrawl.parsing.text import (
    DIGIT_MODES,
    ascii_digits,
    credited_source,
    digits_only,
    normalize,
    normalize_paragraphs,
)

ZWNJ = "\u200c"
SEED = Path(os.environ.get("NEWSCRAWL_SEED", Path(__file__).resolve().parents[2] / "shared" / "seed"))
PERSIAN_LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"
FORBIDDEN = "يكى\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u0640\x00"


# -- letters, marks, spaces ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("تير", "تیر"),  # Arabic yeh (tabnak's month name)
        ("كشور", "کشور"),  # Arabic kaf
        ("مصطفى", "مصطفی"),  # alef maksura
        ("ﻛﺘﺎﺏ", "کتاب"),  # presentation forms, as some CMSs store them
        ("رئيس\u200cجمهور", "رئیس\u200cجمهور"),
        ("ۀ ة ئ ؤ أ", "ۀ ة ئ ؤ أ"),  # left alone on purpose
        ("پُست", "پُست"),  # diacritics are spelling too
    ],
)
def test_letters(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u200eسلام\u200f", "سلام"),
        ("\u202bسلام\u202c \u202aدنیا\u202e\u202d", "سلام دنیا"),
        ("\u2067سلام\u2069\u2066\u2068", "سلام"),
        ("\ufeffسلام\u200b", "سلام"),
        ("خــــبر", "خبر"),  # kashida
        ("a\x00b", "ab"),  # NUL cannot be stored in PostgreSQL text
    ],
)
def test_invisible_marks_removed(raw, expected):
    assert normalize(raw) == expected


def test_superscript_alef_glued_to_word_end_is_dropped():
    # copied from the seed article (000_0518e645a12da8d5.txt)
    assert normalize("سازمان مللٰ، اتحادیه اروپا") == "سازمان ملل، اتحادیه اروپا"
    assert normalize("مانند عراقٰ، ترکیه") == "مانند عراق، ترکیه"
    assert normalize("عراقٰ") == "عراق"
    assert normalize("عراقٰ\u200c ها") == "عراق ها"


def test_superscript_alef_kept_where_it_is_spelling():
    assert normalize("موسیٰ") == "موسیٰ"  # after ی at word end: real orthography
    assert normalize("رحمٰن") == "رحمٰن"  # inside a word


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("می\u200c\u200cخواهم", "می\u200cخواهم"),  # doubled
        ("\u200cسلام\u200c", "سلام"),  # at string start/end
        ("کتاب\u200c ها", "کتاب ها"),  # before a space
        ("کتاب \u200cها", "کتاب ها"),  # after a space
        ("کتاب \u200c \u200c ها", "کتاب ها"),
        ("می\u200c\u200e\u200cخواهم", "می\u200cخواهم"),  # a mark between two ZWNJs
        ("رصد&zwnj;خانه", "رصد\u200cخانه"),  # the entity tabnak bodies use
    ],
)
def test_zwnj_tidy(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  سلام \n\n دنیا\t!  ", "سلام دنیا !"),
        ("a\u00a0\u00a0b\u2009c\u202fd\u2028e\u3000f", "a b c d e f"),  # NBSP, thin, narrow NBSP, LS
        ("&laquo;تابناک&raquo;&nbsp;&amp;", "«تابناک» &"),
        ("", ""),
        (None, ""),
        (" \u200c\u200e \n", ""),
    ],
)
def test_spaces_entities_and_empty(raw, expected):
    assert normalize(raw) == expected


# -- digits ------------------------------------------------------------------------------------------
def test_digit_modes():
    mixed = "مبلغ ١٢۴ میلیارد، سال 1397"  # tabnak mixes Arabic-Indic and Persian digits in one number
    assert normalize(mixed) == mixed
    assert normalize(mixed, "keep") == mixed
    assert normalize(mixed, digits="ascii") == "مبلغ 124 میلیارد، سال 1397"
    assert normalize(mixed, digits="persian") == "مبلغ ۱۲۴ میلیارد، سال ۱۳۹۷"
    assert DIGIT_MODES == ("keep", "ascii", "persian")


@pytest.mark.parametrize("mode", ["", "arabic", "ASCII", None])
def test_unknown_digit_mode_is_an_error(mode):
    with pytest.raises(ValueError, match="digits"):
        normalize("۱۲۳", mode)
    with pytest.raises(ValueError):
        normalize(None, mode)


def test_ascii_digits_touches_only_digits():
    assert ascii_digits("کد ۸۱۸۲۴۲ و ١٢۴ و 56 تير") == "کد 818242 و 124 و 56 تير"
    assert ascii_digits("") == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("کد خبر: ۸۱۸۲۴۲", "818242"),
        (" \t\t۸۱۸۲۴۲ \t", "818242"),  # .news_id_c on the tabnak page
        ("٩٨٠٤٢١١٠٨٩٧", "98042110897"),
        ("98042110897", "98042110897"),
        ("/fa/news/818242/slug-۱۲", "818242"),  # the first run only
        ("بدون شماره", None),
        ("", None),
        (None, None),
    ],
)
def test_digits_only(raw, expected):
    assert digits_only(raw) == expected


# -- paragraphs --------------------------------------------------------------------------------------
def test_normalize_paragraphs():
    paragraphs = ["  اول\nهمان پاراگراف ", "", " \u200c ", "دوم  تير", "\u200e"]
    assert normalize_paragraphs(paragraphs) == "اول همان پاراگراف\n\nدوم تیر"
    assert normalize_paragraphs(["۱۲", "٣"], digits="ascii") == "12\n\n3"
    assert normalize_paragraphs(iter(["الف", "ب"])) == "الف\n\nب"  # any iterable
    assert normalize_paragraphs([]) == ""


# -- credited source ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("به گزارش مهر، رامین مهمانپرست سخنگوی وزارت امور خارجه گفت", "مهر"),
        ("به گزارش خبرگزاری فارس، رئیس جمهور گفت", "فارس"),
        ("به گزارش ایسنا، سهیلا جورکش گفت", "ایسنا"),
        ("به گزارش خبرنگار سیاسی ایسنا، وزیر گفت", "ایسنا"),
        ("به گزارش گروه بین\u200cالملل خبرگزاری تسنیم، رویترز نوشت", "تسنیم"),
        ("به گزارش خبرنگار اعزامی مهر به نیویورک، وزیر گفت", "مهر"),
        ("به گزارش «تابناک»، خبر رسید", "تابناک"),
        ("به گزارش ایرنا به نقل از رویترز، خبر رسید", "ایرنا"),
        ("به گزارش خبرگزاری فارس از تهران، خبر رسید", "فارس"),
        ("به گزارش باشگاه خبرنگاران جوان، خبر رسید", "باشگاه خبرنگاران جوان"),
        ("به گزارش ايسنا، خبر", "ایسنا"),  # Arabic yeh normalized
        ("به\u200cگزارش مهر، خبر", "مهر"),
        ("تحولات در گذر است و خبر هیچ گاه متوقف نخواهد شد", None),
        ("در این تجربه گزارش مهر، ...", None),  # «به» inside «تجربه» is not the word «به»
        ("به گزارش\u200cهای رسیده از شهرهای مختلف کشور و استان\u200cها و روستاها و جاهای دیگر", None),
        ("", None),
        (None, None),
    ],
)
def test_credited_source(body, expected):
    assert credited_source(body) == expected


def test_credited_source_only_near_the_start():
    body = "خبر " * 150 + "به گزارش مهر، خبر"  # ~600 chars in: a quote deep in the text is not a credit
    assert credited_source(body) is None
    assert credited_source("خبر " * 20 + "به گزارش مهر، خبر") == "مهر"


# -- real text ---------------------------------------------------------------------------------------
def test_seed_article():
    path = SEED / "000_0518e645a12da8d5.txt"
    if not path.is_file():
        pytest.skip(f"seed text {path} not found (set NEWSCRAWL_SEED to the seed folder)")
    text = normalize(path.read_text(encoding="utf-8"))
    assert "\u0670" not in text
    assert "سازمان ملل، اتحادیه اروپا" in text
    assert "مانند عراق، ترکیه" in text
    blocks = path.read_text(encoding="utf-8").split("\n\n")  # header, title, lead (380 chars), body...
    assert credited_source("\n\n".join(blocks[3:])) == "مهر"
    assert credited_source("\n\n".join(blocks[2:])) is None  # after a long lead: past the ~300 window


def test_tabnak_body(realpage):
    page = Selector(text=realpage("tabnak/article-1.html").decode("utf-8"))
    raw = [" ".join(p.css("::text").getall()) for p in page.css("div.body > p")]
    body = normalize_paragraphs(raw)
    assert body.count("\n\n") == 27  # 28 <p>
    for ch in FORBIDDEN:
        assert ch not in body
    assert f"رئیس{ZWNJ}جمهور" in body
    assert "دریافت مبلغ ١٢۴ میلیارد تومان" in body  # digits kept as shown by default
    assert "دریافت مبلغ 124 میلیارد تومان" in normalize_paragraphs(raw, digits="ascii")
    assert normalize(page.css(".fa_date::text").get()) == "۳۰ تیر ۱۳۹۷ - ۰۰:۲۰"
    assert digits_only(page.css(".news_id_c::text").getall()[-1]) == "818242"


# -- properties --------------------------------------------------------------------------------------
persian_word = st.text(alphabet=PERSIAN_LETTERS, min_size=1, max_size=12)
# Text that looks like scraped Persian: letters, Arabic variants, marks, ZWNJ, spaces, digits, entities.
messy = st.lists(
    st.sampled_from(
        list(PERSIAN_LETTERS + "يكىۀة" + "۰۱۲۹٠١٩019" + " \t\n\u00a0\u2009\u3000" + ZWNJ * 3 + FORBIDDEN)
        + ["\u0670", "&zwnj;", "&nbsp;", "ﻛ", "\ufe71", "a", "!", "«", "»", "،", "به گزارش "]
    ),
    max_size=60,
).map("".join)
any_text = st.one_of(st.text(), messy)


@given(any_text, st.sampled_from(DIGIT_MODES))
def test_normalize_never_fails_and_is_tidy(text, mode):
    out = normalize(text, mode)
    assert isinstance(out, str)
    assert out == out.strip() and out.strip(ZWNJ) == out
    assert "  " not in out and "\n" not in out and ZWNJ * 2 not in out
    assert f" {ZWNJ}" not in out and f"{ZWNJ} " not in out


@given(any_text, st.sampled_from(DIGIT_MODES))
def test_normalize_leaves_no_arabic_letters_or_marks(text, mode):
    out = normalize(text, mode)
    for ch in FORBIDDEN:
        assert ch not in out


@given(any_text.filter(lambda t: "&" not in t), st.sampled_from(DIGIT_MODES))
def test_normalize_is_idempotent(text, mode):
    # "&" excluded: html.unescape decodes one level per call by design ("&amp;lt;" → "&lt;" → "<").
    once = normalize(text, mode)
    assert normalize(once, mode) == once


@given(persian_word, persian_word)
def test_zwnj_inside_a_word_survives(left, right):
    assert normalize(f"{left}{ZWNJ}{right}") == f"{left}{ZWNJ}{right}"
    assert normalize(f"  {left}{ZWNJ}{ZWNJ}{right} ") == f"{left}{ZWNJ}{right}"


@given(any_text)
def test_ascii_digit_mode_leaves_no_persian_or_arabic_digit(text):
    out = normalize(text, digits="ascii")
    assert not any(c in out for c in "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")
    out = normalize(text, digits="persian")
    assert not any(c in out for c in "0123456789٠١٢٣٤٥٦٧٨٩")


@given(any_text)
def test_ascii_digits_changes_digits_only(text):
    out = ascii_digits(text)
    assert len(out) == len(text)
    for before, after in zip(text, out, strict=True):
        assert before == after or (before in "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩" and after in "0123456789")


@given(st.one_of(st.none(), any_text))
def test_digits_only_garbage(text):
    out = digits_only(text)
    assert out is None or (out.isascii() and out.isdigit() and out in ascii_digits(text))
    if out is None and text:
        assert not any(c in ascii_digits(text) for c in "0123456789")


@given(st.one_of(st.none(), any_text, st.builds(lambda w, t: "به گزارش " + w + t, any_text, any_text)))
def test_credited_source_garbage(text):
    out = credited_source(text)
    assert out is None or (isinstance(out, str) and out and out == normalize(out))
