"""The story index (newscrawl.stories): shingles, the same-story rules, copy_of, and the index in a real
SQLite file and, marked `postgres`, a real PostgreSQL server (the `postgres_url` fixture, tests/conftest.py).

Texts are written here by hand; each case changes them the way the issue names (a new intro line, a changed
headline, a truncated ending, a paragraph moved or dropped, a sentence added) or writes another text.
"""

import threading
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, select, text

from newscrawl.db.store import ArticleStore, articles
from newscrawl.stories import Assignment, StoryIndex
from newscrawl.stories.shingles import shingle, shingle_many, tokens
from newscrawl.stories.tables import story_articles

ZWNJ = "\u200c"

# -- texts ------------------------------------------------------------------------------------------
PARAGRAPHS = [
    "به گزارش خبرگزاری مهر، وزیر نیرو امروز در نشستی خبری با اشاره به کاهش بارش‌ها در سال آبی جاری گفت: "
    "ذخایر سدهای تهران به کمترین میزان ده سال اخیر رسیده است و اگر مصرف کاهش نیابد، جیره‌بندی آب "
    "در تابستان اجتناب‌ناپذیر خواهد بود.",
    "وی افزود: شرکت آب و فاضلاب استان تهران برنامه‌ای برای کاهش فشار آب در ساعات شب تدوین کرده که از "
    "هفته آینده در مناطق شمالی شهر اجرا می‌شود و مشترکان پرمصرف نیز جریمه خواهند شد.",
    "وزیر نیرو همچنین از تکمیل خط انتقال آب از سد طالقان خبر داد و گفت این طرح که سال‌ها نیمه‌تمام "
    "مانده بود تا پایان پاییز به بهره‌برداری می‌رسد و بخشی از کمبود آب شرب پایتخت را جبران می‌کند.",
    "به گفته این مقام مسئول، کشاورزان دشت‌های اطراف تهران نیز باید الگوی کشت خود را تغییر دهند، زیرا "
    "برداشت بی‌رویه از آب‌های زیرزمینی باعث فرونشست زمین در جنوب پایتخت شده است.",
    "او در پایان از مردم خواست با نصب تجهیزات کاهنده مصرف و پرهیز از شستن خودرو با شلنگ، در عبور از "
    "این دوره کم‌آبی به دولت کمک کنند و یادآور شد که صرفه‌جویی تنها راه پیش رو است.",
]
BODY = "\n\n".join(PARAGRAPHS)
TITLE = "هشدار وزیر نیرو درباره جیره‌بندی آب در تهران"
OTHER_BODY = "\n\n".join([  # the same topic, the same minister, another story
    "به گزارش خبرگزاری ایسنا، وزیر نیرو امروز در آیین افتتاح نیروگاه خورشیدی کرمان گفت: ظرفیت نیروگاه‌های "
    "تجدیدپذیر کشور تا پایان سال به دو برابر می‌رسد و سرمایه‌گذاران خصوصی از تسهیلات ارزان بهره‌مند می‌شوند.",
    "وی افزود: قرارداد ساخت ده نیروگاه خورشیدی دیگر در استان‌های جنوبی امضا شده است و خرید تضمینی برق "
    "آن‌ها به مدت بیست سال بر عهده وزارت نیرو خواهد بود.",
    "وزیر نیرو درباره خاموشی‌های تابستان گذشته نیز گفت که با ورود این نیروگاه‌ها به مدار، احتمال قطع برق "
    "صنایع در ساعات اوج مصرف کاهش می‌یابد و شبکه پایدارتر خواهد شد.",
    "به گفته او، سهم برق تجدیدپذیر در سبد تولید کشور هنوز کمتر از پنج درصد است و برای رسیدن به هدف "
    "برنامه توسعه باید سرعت ساخت نیروگاه‌های بادی و خورشیدی چند برابر شود.",
])
INDEPENDENT_BODY = "\n\n".join([  # the same event as BODY, told in other words
    "وزیر نیرو صبح امروز هشدار داد که پایتخت در آستانه جیره‌بندی آب قرار دارد؛ او دلیل این وضعیت را "
    "کم‌بارشی بی‌سابقه و پایین بودن حجم مخازن پنج سد تأمین‌کننده آب تهران دانست.",
    "بر پایه سخنان این عضو کابینه، از هفته بعد فشار آب شبکه شهری در نیمه‌شب کم می‌شود و مصرف‌کنندگانی که "
    "بیش از الگو مصرف کنند با قبض‌های سنگین روبه‌رو خواهند شد.",
    "او گفت آب سد طالقان با خطی تازه تا آخر پاییز به تهران می‌رسد و در عین حال از کشاورزان اطراف شهر "
    "خواست آب کمتری از چاه‌ها بکشند تا زمین بیش از این فرو ننشیند.",
    "وزیر در پایان صحبت‌هایش شهروندان را به صرفه‌جویی و استفاده از شیرآلات کم‌مصرف دعوت کرد.",
])


def gold(day: int, prices: list[int]) -> dict:
    """A daily gold-price report: the same template, other numbers."""
    coins = ["سکه تمام بهار آزادی طرح جدید", "سکه طرح قدیم", "نیم سکه", "ربع سکه", "سکه گرمی",
             "هر گرم طلای ۱۸ عیار", "هر مثقال طلا"]
    lines = [f"قیمت {name} امروز {price:,} تومان است و نسبت به روز گذشته تغییر کرده است."
             for name, price in zip(coins, prices, strict=True)]
    body = "\n\n".join([f"به گزارش اقتصاد آنلاین، قیمت طلا و سکه امروز {day} آذر ۱۴۰۵ در بازار آزاد تهران اعلام شد.",
                        *lines,
                        "قیمت‌های اعلام‌شده مربوط به بازار آزاد است و ممکن است در طول روز و با توجه به نوسان "
                        "نرخ ارز و انس جهانی تغییر کند؛ کارشناسان توصیه می‌کنند خریداران پیش از هر معامله "
                        "قیمت‌ها را از منابع معتبر استعلام کنند."])
    return article("eghtesadonline.com", f"g{day}", body, f"2026-11-{day - 4:02d}T09:00:00+03:30",
                   title=f"قیمت طلا و سکه امروز {day} آذر ۱۴۰۵")


def article(site: str, code: str, body: str = BODY, published_at: str | None = "2026-11-20T10:00:00+03:30",
            title: str = TITLE, source: str | None = None) -> dict:
    return {"site": site, "news_code": code, "title": title, "body": body, "published_at": published_at,
            "source": source}


def later(hours: int) -> str:
    """An instant `hours` after 2026-11-20T10:00 Tehran time."""
    day, hour = divmod(10 + hours, 24)
    return f"2026-11-{20 + day:02d}T{hour:02d}:00:00+03:30"


@pytest.fixture
def engine(tmp_path):
    """A SQLite file with the articles table (as the crawl makes it) and WAL, as the store opens it."""
    store = ArticleStore(f"sqlite:///{tmp_path}/news.sqlite3").open()
    yield store.engine
    store.close()


@pytest.fixture
def index(engine):
    return StoryIndex(engine)


def same(index, first: dict, second: dict) -> bool:
    got = index.assign([first, second])
    return got[(first["site"], first["news_code"])].story_id == got[(second["site"], second["news_code"])].story_id


# -- shingles ---------------------------------------------------------------------------------------
def test_zwnj_a_space_or_nothing_before_a_suffix_or_after_a_prefix_is_one_word():
    assert tokens(f"می{ZWNJ}شود") == tokens("می شود") == tokens("میشود") == ["میشود"]
    assert tokens(f"نمی{ZWNJ}رود") == tokens("نمی رود") == ["نمیرود"]
    assert tokens(f"کتاب{ZWNJ}ها و کتاب ها") == ["کتابها", "و", "کتابها"]
    assert tokens(f"گفته{ZWNJ}است") == tokens("گفته است") == ["گفتهاست"]
    assert tokens("می، شود") == ["می", "شود"]  # punctuation between: two words


def test_tokens_fold_spelling_variants_and_drop_punctuation():
    assert tokens("«مسئولانِ ۱۲ كشور عربي»!") == ["مسئولان", "12", "کشور", "عربی"]
    assert tokens("أحمد و آب") == ["احمد", "و", "اب"]
    assert tokens("") == tokens(None) == tokens("!؟،") == []


def test_three_spellings_of_a_body_give_the_same_shingles():
    written = "کارشناسان می‌گویند قیمت‌ها بالا می‌رود و خانواده‌ها نمی‌توانند خرید کنند"
    spaced = written.replace(ZWNJ, " ")
    joined = written.replace(ZWNJ, "")
    assert list(shingle(written).hashes) == list(shingle(spaced).hashes) == list(shingle(joined).hashes)
    assert len(shingle(written).hashes) == 8  # 10 words, k = 3
    assert ZWNJ in written  # the text itself is never changed


WORDS = ["خبر", "وزیر", "گفت", "کتاب", "شود", "رود", "کار", "مردم", "۱۴۰۵", "12", "آب"]


@st.composite
def persian_text(draw):
    """Words, with «می» before some and «ها» after some, each joined by a ZWNJ, a space or nothing."""
    parts = []
    for word in draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=30)):
        if draw(st.booleans()):
            word = "می" + draw(st.sampled_from([ZWNJ, " ", ""])) + word
        if draw(st.booleans()):
            word = word + draw(st.sampled_from([ZWNJ, " ", ""])) + "ها"
        parts.append(word)
    return " ".join(parts)


@settings(max_examples=150, deadline=None)
@given(persian_text(), st.sampled_from([ZWNJ, " ", ""]))
def test_shingles_do_not_depend_on_how_zwnj_is_written(written, instead):
    variant = written.replace(ZWNJ, instead)
    assert list(shingle(variant).hashes) == list(shingle(written).hashes)


@settings(max_examples=150, deadline=None)
@given(persian_text(), persian_text(), st.sampled_from(["  ", "\n\n", "، ", " . "]))
def test_shingles_of_the_start_are_shingles_of_the_whole(start, rest, separator):
    """Appending text (or reformatting the space between) never removes a shingle: a truncated copy's
    shingles are inside the original's."""
    whole = set(shingle(start + separator + rest).hashes.tolist())
    if len(tokens(start)) >= 3:
        assert set(shingle(start).hashes.tolist()) <= whole
    assert set(shingle(start + " " + rest).hashes.tolist()) == whole


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(persian_text(), st.sampled_from(["", "!", "12", "a b", None])), max_size=6),
       st.integers(1, 4))
def test_a_batch_of_bodies_shingles_as_each_alone(bodies, k):
    """Bodies are shingled many at once (joined by newlines): no shingle, join or number context crosses two."""
    together = shingle_many(bodies, k, chars=40)
    alone = [shingle_many([body], k)[0] for body in bodies]
    assert [(list(s.hashes), s.numbers) for s in together] == [(list(s.hashes), s.numbers) for s in alone]


@settings(max_examples=100, deadline=None)
@given(persian_text())
def test_arabic_letters_and_digits_fold_like_persian(written):
    arabic = written.replace("ی", "ي").replace("ک", "ك").replace("۱۴۰۵", "١٤٠٥")
    assert list(shingle(arabic).hashes) == list(shingle(written).hashes)
    assert shingle(arabic).numbers == shingle(written).numbers


# -- same story or not ------------------------------------------------------------------------------
@pytest.mark.parametrize("edit", ["intro", "headline", "truncated", "moved", "dropped", "added", "zwnj"])
def test_a_copy_with_the_usual_edits_is_the_same_story(index, edit):
    paragraphs, title = list(PARAGRAPHS), TITLE
    if edit == "intro":
        paragraphs.insert(0, "به گزارش پایگاه خبری تحلیلی ما به نقل از منابع آگاه، این خبر ساعتی پیش منتشر شد.")
    elif edit == "headline":
        title = "جیره‌بندی آب تهران نزدیک است"
    elif edit == "truncated":
        paragraphs = paragraphs[:2] + [paragraphs[2][:60]]
    elif edit == "moved":
        paragraphs = [paragraphs[0], paragraphs[3], paragraphs[1], paragraphs[2], paragraphs[4]]
    elif edit == "dropped":
        del paragraphs[2]
    elif edit == "added":
        paragraphs.insert(3, "گفتنی است مصرف آب در تهران در ماه گذشته هفت درصد بیشتر از میانگین کشور بوده است.")
    else:
        paragraphs = [p.replace(ZWNJ, " ") for p in paragraphs]
    copy = article("tabnak", "2", "\n\n".join(paragraphs), later(3), title=title, source="مهر")
    assert same(index, article("mehr", "1"), copy)


def test_another_story_on_the_same_topic_is_another_story(index):
    assert not same(index, article("mehr", "1"), article("isna", "2", OTHER_BODY, later(1)))


def test_an_independent_report_of_the_same_event_is_another_story(index):
    assert not same(index, article("mehr", "1"), article("irna", "2", INDEPENDENT_BODY, later(1)))


def test_a_daily_template_with_other_numbers_is_another_story_each_day(index):
    monday = gold(24, [83_450_000, 79_100_000, 44_200_000, 26_750_000, 12_300_000, 7_615_000, 33_020_000])
    tuesday = gold(25, [83_900_000, 79_450_000, 44_100_000, 26_800_000, 12_450_000, 7_680_000, 33_310_000])
    copy = dict(monday, site="tabnak", news_code="9", published_at=monday["published_at"].replace("09:", "10:"))
    got = index.assign([monday, tuesday, copy])
    assert got[("eghtesadonline.com", "g24")].story_id != got[("eghtesadonline.com", "g25")].story_id
    assert got[("tabnak", "9")] == Assignment(got[("eghtesadonline.com", "g24")].story_id,
                                              "eghtesadonline.com:g24")


def test_a_series_does_not_chain_through_a_copy(index):
    """Tuesday resembles Monday's copy as much as Monday: it must not join Monday's story through it."""
    monday = gold(24, [83_450_000, 79_100_000, 44_200_000, 26_750_000, 12_300_000, 7_615_000, 33_020_000])
    copy = dict(monday, site="tabnak", news_code="9", published_at=monday["published_at"].replace("09:", "10:"))
    tuesday = gold(25, [83_450_000, 79_450_000, 44_100_000, 26_800_000, 12_450_000, 7_680_000, 33_310_000])
    got = index.assign([monday, copy, tuesday])
    assert got[("eghtesadonline.com", "g25")].story_id not in {got[("tabnak", "9")].story_id}


def test_one_sites_title_template_on_two_days_is_two_stories(index):
    """The same words under «... امروز شنبه ۵ آذر» and «... امروز یکشنبه ۶ آذر» from one site: a series; the
    same title on another site is a copy."""
    saturday = article("isna", "1", title="اوقات شرعی تهران امروز شنبه ۵ آذر")
    sunday = article("isna", "2", published_at=later(24), title=f"اوقات شرعی تهران امروز یک{ZWNJ}شنبه ۶ آذر")
    copy = article("tabnak", "3", published_at=later(1), title="اوقات شرعی تهران امروز شنبه ۵ آذر")
    got = index.assign([saturday, sunday, copy])
    assert got[("isna", "2")].story_id != got[("isna", "1")].story_id == got[("tabnak", "3")].story_id


def test_articles_without_text_are_stories_of_their_own(index):
    got = index.assign([article("mehr", "1", ""), article("isna", "2", ""), article("irna", "3", "!")])
    assert len({a.story_id for a in got.values()}) == 3
    assert {a.copy_of for a in got.values()} == {None}


# -- the window -------------------------------------------------------------------------------------
def test_only_articles_within_the_window_join_one_story(engine):
    index = StoryIndex(engine, window_days=7)
    got = index.assign([article("mehr", "1"), article("isna", "2", published_at=later(6 * 24)),
                        article("irna", "3", published_at=later(8 * 24))])
    assert got[("mehr", "1")].story_id == got[("isna", "2")].story_id
    assert got[("irna", "3")].story_id != got[("mehr", "1")].story_id  # 8 days after the first
    assert got[("irna", "3")].copy_of is None


def test_the_window_is_a_setting_with_a_default_of_seven_days(engine):
    assert StoryIndex(engine).window_days == 7
    with pytest.raises(ValueError, match="positive number of days"):
        StoryIndex(engine, window_days=0)


# -- copy_of --------------------------------------------------------------------------------------------
def test_copy_of_names_the_earliest_article_and_is_null_for_it(index):
    got = index.assign([article("tabnak", "7", published_at=later(2)), article("mehr", "1"),
                        article("asriran", "3", published_at=later(5))])
    story = got[("mehr", "1")].story_id
    assert got == {("tabnak", "7"): Assignment(story, "mehr:1"), ("mehr", "1"): Assignment(story, None),
                   ("asriran", "3"): Assignment(story, "mehr:1")}


def test_an_earlier_original_arriving_later_repoints_its_copies(engine, index):
    first = index.assign([article("tabnak", "7", published_at=later(2)), article("asriran", "3", published_at=later(5))])
    assert first[("asriran", "3")].copy_of == "tabnak:7"
    second = index.assign([article("mehr", "1")])
    story = first[("tabnak", "7")].story_id
    assert second == {("mehr", "1"): Assignment(story, None)}  # the story keeps its id
    with engine.connect() as conn:
        stored = dict(conn.execute(select(story_articles.c.news_code, story_articles.c.copy_of)).all())
    assert stored == {"7": "mehr:1", "3": "mehr:1", "1": None}


def test_ties_in_time_go_to_the_article_stored_first(index):
    got = index.assign([article("tabnak", "7"), article("mehr", "1")])
    assert got[("tabnak", "7")].copy_of is None and got[("mehr", "1")].copy_of == "tabnak:7"


def test_a_credited_agency_is_the_copied_article_even_when_not_the_earliest(index):
    """«به گزارش مهر» on asriran: copy_of is Mehr's article although tabnak had the text earlier."""
    got = index.assign([article("tabnak", "7"), article("mehr", "1", published_at=later(1)),
                        article("asriran", "3", published_at=later(2), source="مهر"),
                        article("fararu", "4", published_at=later(3), source="ایسنا")])  # no ISNA article
    assert [got[k].copy_of for k in [("tabnak", "7"), ("mehr", "1"), ("asriran", "3"), ("fararu", "4")]] == \
        [None, "tabnak:7", "mehr:1", "tabnak:7"]


def test_an_earliest_article_crediting_an_agency_copies_it(index):
    """The first copy was stamped before the agency's own page (clocks differ): the credit wins."""
    got = index.assign([article("tabnak", "7", source="مهر"), article("mehrnews.com", "1", published_at=later(1)),
                        article("asriran", "3", published_at=later(2))])
    assert [got[k].copy_of for k in [("tabnak", "7"), ("mehrnews.com", "1"), ("asriran", "3")]] == \
        ["mehrnews.com:1", None, "mehrnews.com:1"]


# -- persistence ------------------------------------------------------------------------------------
def stored_article(code: str, site: str = "tabnak", **fields) -> dict:
    row = {"site": site, "news_code": code, "url": f"https://www.{site}.ir/fa/news/{code}", "title": TITLE,
           "body": BODY, "published_at": "2026-11-20T10:00:00+03:30", "source": None}
    row.update(fields)
    return row


def test_the_index_persists_across_two_instances_and_updates_the_articles_table(tmp_path):
    url = f"sqlite:///{tmp_path}/news.sqlite3"
    store = ArticleStore(url).open()
    for code, site, at in [("1", "mehr", "2026-11-20T10:00:00+03:30"), ("2", "isna", "2026-11-20T12:00:00+03:30")]:
        store.add(stored_article(code, site, published_at=at))
    store.flush()
    first = StoryIndex(store.engine).assign([article("isna", "2", published_at=later(2))])
    story = first[("isna", "2")].story_id
    assert first == {("isna", "2"): Assignment(story, None)}
    other = create_engine(url)  # another process's engine on the same file
    second = StoryIndex(other).assign([article("mehr", "1")])
    assert second == {("mehr", "1"): Assignment(story, None)}
    with store.engine.connect() as conn:
        got = conn.execute(select(articles.c.site, articles.c.story_id, articles.c.copy_of)
                           .order_by(articles.c.site)).all()
    assert [tuple(r) for r in got] == [("isna", story, "mehr:1"), ("mehr", story, None)]
    assert StoryIndex(other).assign([article("mehr", "1")]) == second  # assigned again: unchanged
    other.dispose()
    store.close()


def test_assigning_an_indexed_article_again_heals_its_row_without_a_story(tmp_path):
    url = f"sqlite:///{tmp_path}/news.sqlite3"
    store = ArticleStore(url).open()
    for code, site, at in [("1", "mehr", "2026-11-20T10:00:00+03:30"), ("2", "isna", "2026-11-20T12:00:00+03:30")]:
        store.add(stored_article(code, site, published_at=at))
    store.flush()
    index = StoryIndex(store.engine)
    first = index.assign([article("mehr", "1"), article("isna", "2", published_at=later(2))])
    story = first[("mehr", "1")].story_id
    with store.engine.begin() as conn:  # a restored backup: the rows lost their stories, the index kept them
        conn.execute(articles.update().values(story_id=None, copy_of=None))
        conn.execute(articles.update().where(articles.c.site == "mehr").values(story_id="edited"))
    got = index.assign([article("isna", "2", published_at=later(2)), article("mehr", "1")])
    assert got == {("isna", "2"): Assignment(story, "mehr:1"), ("mehr", "1"): Assignment(story, None)}
    with store.engine.connect() as conn:
        rows = conn.execute(select(articles.c.site, articles.c.story_id, articles.c.copy_of)
                            .order_by(articles.c.site)).all()
    # the row without a story healed; a row whose story was set by hand keeps it
    assert [tuple(r) for r in rows] == [("isna", story, "mehr:1"), ("mehr", "edited", None)]
    store.close()


def test_assign_without_the_articles_columns_keeps_the_index(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/bare.sqlite3")
    got = StoryIndex(engine).assign([article("mehr", "1"), article("isna", "2", published_at=later(1))])
    assert got[("isna", "2")].copy_of == "mehr:1"
    assert not inspect(engine).has_table("articles")
    engine.dispose()


def test_rebuild_recomputes_from_scratch_and_keeps_known_story_ids(engine, index):
    index.assign([article("mehr", "1"), article("isna", "2", OTHER_BODY)])
    rows = [dict(article("tabnak", "7", published_at=later(3)), story_id="s-kept", copy_of=None),
            article("mehr", "1"), article("isna", "2", OTHER_BODY), article("isna", "2", OTHER_BODY)]
    assert index.rebuild(iter(rows)) == 3
    with engine.connect() as conn:
        got = {r.news_code: (r.story_id, r.copy_of) for r in conn.execute(select(story_articles))}
    assert got["1"][1] is None and got["7"] == (got["1"][0], "mehr:1")
    assert got["2"][0] != got["1"][0]
    again = index.assign([article("asriran", "3", published_at=later(4))])
    assert again[("asriran", "3")] == Assignment(got["1"][0], "mehr:1")


def test_rebuild_keeps_the_id_a_founding_article_had(index):
    rows = [dict(article("mehr", "1"), story_id="s-kept", copy_of=None),
            dict(article("isna", "2", published_at=later(1)), story_id="s-other", copy_of=None)]
    assert index.rebuild(rows) == 2
    got = index.assign([article("irna", "3", published_at=later(2))])
    assert got[("irna", "3")] == Assignment("s-kept", "mehr:1")


def test_biggest_lists_the_stories_with_most_sites(index):
    index.assign([article("tabnak", "7", published_at=later(2), title="تیتر دوم"), article("mehr", "1"),
                  article("asriran", "3", published_at=later(30)), article("isna", "2", OTHER_BODY, later(1)),
                  article("isna", "5", INDEPENDENT_BODY, "2026-11-25T10:00:00+03:30")])
    top = index.biggest(limit=2)
    assert [(s["title"], s["sites"], s["articles"], s["first"], s["last"]) for s in top] == [
        (TITLE, 3, 3, "2026-11-20T10:00:00+03:30", "2026-11-21T16:00:00+03:30"),
        (TITLE, 1, 1, "2026-11-20T11:00:00+03:30", "2026-11-20T11:00:00+03:30")]
    assert [s["articles"] for s in index.biggest(since=date(2026, 11, 21))] == [1]
    assert index.biggest(until=date(2026, 11, 19)) == []


# -- PostgreSQL -----------------------------------------------------------------------------------------
@pytest.fixture
def pg_engine(postgres_url):
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS story_bands, story_articles, story_lock, articles"))
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_postgres_index_round_trip_and_rebuild(pg_engine):
    index = StoryIndex(pg_engine)
    got = index.assign([article("tabnak", "7", published_at=later(2)), article("mehr", "1"),
                        article("isna", "2", OTHER_BODY)])
    story = got[("mehr", "1")].story_id
    assert got[("tabnak", "7")] == Assignment(story, "mehr:1") and got[("isna", "2")].story_id != story
    assert StoryIndex(pg_engine).assign([article("asriran", "3", published_at=later(3))]) == {
        ("asriran", "3"): Assignment(story, "mehr:1")}
    assert index.rebuild([article("mehr", "1"), article("tabnak", "7", published_at=later(2))]) == 2
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM story_articles")).scalar() == 2
        assert conn.execute(text("SELECT count(DISTINCT story_id) FROM story_articles")).scalar() == 1


def test_two_sqlite_writers_assigning_copies_at_once_make_one_story(tmp_path):
    """Two engines on one SQLite file (as two processes would have): the lock row makes the second wait for
    the first's commit before it reads."""
    url = f"sqlite:///{tmp_path}/news.sqlite3"
    StoryIndex(ArticleStore(url).open().engine)
    barrier = threading.Barrier(4)
    found, errors = {}, []

    def worker(n: int):
        store = ArticleStore(url).open()
        try:
            index = StoryIndex(store.engine)
            barrier.wait()
            found.update(index.assign([article(f"site{n}", str(n), published_at=later(n))]))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(found) == 4
    assert len({a.story_id for a in found.values()}) == 1


@pytest.mark.postgres
def test_two_postgres_workers_assigning_copies_at_once_make_one_story(pg_engine, postgres_url):
    """Each worker has its own engine; they start together; without the lock each would see none of the
    other's rows and found a story of its own."""
    StoryIndex(pg_engine)  # tables made once, as the first worker would
    barrier = threading.Barrier(8)
    found, errors = {}, []

    def worker(n: int):
        engine = create_engine(postgres_url)
        try:
            index = StoryIndex(engine)
            barrier.wait()
            found.update(index.assign([article(f"site{n}", str(n), published_at=later(n))]))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(found) == 8 and len({a.story_id for a in found.values()}) == 1
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT story_id), count(*) FROM story_articles")).one() == (1, 8)
        copies = dict(conn.execute(text("SELECT news_code, copy_of FROM story_articles")).all())
    assert copies == {"0": None, **{str(n): "site0:0" for n in range(1, 8)}}
