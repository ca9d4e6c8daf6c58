"""The evaluation set of story clusters (issue 18): Persian articles with known story labels.

18A: findings of the evaluation (what fails, by how much) are written to /tmp/i18/eval-notes.md; you may
read it.

Why our own generator and not real pages: labels must be known for every pair, the set must be free to
publish in the repository, and the 100,000-article benchmark needs the same kind of text cheaply. The text
is built from a vocabulary and sentence templates of our own (testkit/stories_words.py; no page of
../shared is copied): nine topics, entities (people, cities, organisations) that recur within a story,
Persian digits, words with a ZWNJ («می‌شود», «رئیس‌جمهور»), and the boilerplate real agency copy shares
between unrelated articles (desk credits, «انتهای پیام», site footers, topic background paragraphs).

What the set holds (`build_set`), story by story:
- originals by an agency, republished by other sites minutes to days later with the edits of the issue
  (EDITS: a new intro line, a changed headline, a truncated ending, a paragraph dropped or moved, a
  sentence added, ZWNJ replaced by a space or removed), one to three each, sometimes a copy of a copy, a
  `source` naming the agency when the copy credits it; a few dated minutes before their original (a
  republisher's clock ahead; they keep the credit) or with no date at all;
- hard negatives (NEGATIVES), each a pair that must land in two stories: two stories on one topic with the
  same people, city and background paragraph ("same_topic"); one daily template (prices, currencies,
  weather, prayer times, the stock index) on two consecutive days ("daily"), and a site's prayer times of
  two cities on one day ("daily_city"); two reports of one event written independently: same facts, other
  words ("independent"); a story republished 9 to 14 days later, beyond the 7-day window ("outside_window");
- singletons: stories nobody copied.

`build()` gives (articles, truth) as the contract says; `stream()` gives the articles alone, story after
story, without bookkeeping (the 100,000-article benchmark). Everything is deterministic by seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import jdatetime

from testkit.stories_words import (
    AGENCIES,
    AGENCY,
    CITIES,
    COINS,
    CURRENCIES,
    DAILY_KINDS,
    DESKS,
    EVENTS,
    FIRST,
    FOOTERS,
    LAST,
    MONTHS,
    OPENERS,
    PERIODS,
    PLACES,
    PRAYERS,
    REPUBLISHER,
    REPUBLISHERS,
    ROADS,
    SENTENCES,
    SITE_FOOTERS,
    SITE_NAME,
    SKY,
    TEAMS,
    TITLE_EXTRAS,
    TITLES,
    TOPICS,
    UPDOWN,
    WEEKDAYS,
    Topic,
)

Key = tuple[str, str]

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))  # no DST in Iran since 2022
START = dt.datetime(2026, 10, 1, tzinfo=TEHRAN)
ZWNJ = "\u200c"

EDITS = ("intro", "headline", "truncated", "dropped", "moved", "added", "zwnj_space", "zwnj_removed")
NEGATIVES = ("same_topic", "daily", "daily_city", "independent", "outside_window")

_FA = tuple(zip("0123456789", "۰۱۲۳۴۵۶۷۸۹", strict=True))



def fa(value) -> str:
    """ASCII digits → Persian digits (ten str.replace: str.translate is ten times slower on Persian text)."""
    text = str(value)
    for ascii_digit, persian in _FA:
        text = text.replace(ascii_digit, persian)
    return text


def _money(value: int) -> str:
    return f"{value:,}".replace(",", "٬")


@dataclass
class _Story:
    """What a story's sentences are made of: its topic and the entities it keeps returning to."""
    topic: Topic
    people: list[tuple[str, str]]  # (full name, role)
    orgs: list[str]
    cities: list[str]
    nouns: list[str]


class _Writer:
    """Sentences, titles and bodies from the templates above, with one random source."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def story(self, topic: Topic | None = None) -> _Story:
        r = self.rng
        topic = topic or r.choice(TOPICS)
        people = [(f"{r.choice(FIRST)} {r.choice(LAST)}", r.choice(topic.roles)) for _ in range(3)]
        return _Story(topic, people, r.sample(topic.orgs, 3), r.sample(CITIES, 2), r.sample(topic.nouns, 6))

    def slots(self, s: _Story) -> dict:
        r = self.rng
        t = s.topic
        person, role = r.choice(s.people)
        nouns = s.nouns if r.random() < 0.7 else t.nouns  # the story's own subjects, mostly
        return {"noun": r.choice(nouns), "noun2": r.choice(t.nouns), "org": r.choice(s.orgs),
                "org2": r.choice(t.orgs), "role": role, "person": person, "city": r.choice(s.cities),
                "period": r.choice(PERIODS), "verb": r.choice(t.verbs), "unit": r.choice(t.units),
                "updown": r.choice(UPDOWN), "n": r.randint(2, 950), "weekday": r.choice(WEEKDAYS)}

    def sentence(self, s: _Story) -> str:
        text = self.rng.choice(SENTENCES).format(**self.slots(s))
        if self.rng.random() < 0.3:
            text = self.rng.choice(OPENERS) + text
        return text

    def title(self, s: _Story, template: str | None = None) -> str:
        return (template or self.rng.choice(TITLES)).format(**self.slots(s)).removesuffix(".")

    def paragraphs(self, s: _Story, words: int, first: str = "") -> list[str]:
        """Paragraphs of 1-4 sentences until about `words` words; `first` opens the first one."""
        r = self.rng
        out: list[str] = []
        count = 0
        current = [first + self.sentence(s)] if first else []
        while count < words:
            if current and (len(current) >= r.randint(1, 4)):
                out.append(" ".join(current))
                count += sum(len(p.split()) for p in current)
                current = []
            current.append(self.sentence(s))
        if current:
            out.append(" ".join(current))
        return out


def _credit(site: str, rng: random.Random, desk: str | None = None) -> str:
    """The agency's own opening credit («به گزارش خبرنگار اقتصادی خبرگزاری مهر،»)."""
    name = AGENCY[site]
    if rng.random() < 0.5:
        return f"به گزارش خبرنگار {desk or rng.choice(DESKS)} خبرگزاری {name}، "
    return f"به گزارش گروه {desk or rng.choice(DESKS)} {name}، "


def _footer(site: str, rng: random.Random) -> list[str]:
    """Boilerplate closing paragraphs: the agency's «انتهای پیام», a republisher's footers."""
    if site in AGENCY:
        return [rng.choice(FOOTERS)]
    picked = rng.sample(SITE_FOOTERS, rng.randint(1, 2))
    return [p.format(name=REPUBLISHER[site]) for p in picked]


@dataclass
class _Article:
    site: str
    title: str
    paragraphs: list[str]  # the text without the footer
    footer: list[str]
    at: dt.datetime
    source: str | None = None
    dated: bool = True  # published_at is None when False

    def body(self) -> str:
        return fa("\n\n".join(self.paragraphs + self.footer))


@dataclass
class EvalSet:
    """The set with its bookkeeping: what each article is, whom it copies, which pairs must stay apart."""
    articles: list[dict]
    truth: dict[Key, str]
    #: original / copy / single / daily / independent / same_topic / rerun
    kinds: dict[Key, str] = field(default_factory=dict)
    edits: dict[Key, tuple[str, ...]] = field(default_factory=dict)  # copies: the edits made
    copied_from: dict[Key, Key] = field(default_factory=dict)  # copies: the article whose text was taken
    origin: dict[Key, Key] = field(default_factory=dict)  # copies: the first article of their story
    credited: dict[Key, Key] = field(default_factory=dict)  # copies with a source: the article of that site
    early: set[Key] = field(default_factory=set)  # copies dated minutes before their original (credited)
    undated: set[Key] = field(default_factory=set)  # copies with no published_at
    negatives: list[tuple[Key, Key, str]] = field(default_factory=list)  # must be in different stories


class _Generator:
    """Story groups, each a list of (article, label, kind, meta), until n articles."""

    def __init__(self, seed: int, span_days: int):
        self.rng = random.Random(seed)
        self.writer = _Writer(self.rng)
        self.span = span_days
        self.codes: Counter[str] = Counter()
        self.labels = 0
        self.edit_turn = 0  # the first copies take each edit in turn: a small set still has them all
        self.owed = Counter(early=2, undated=2)  # and the first copies include two early, two undated

    # -- helpers -------------------------------------------------------------------------------------
    def label(self, kind: str) -> str:
        self.labels += 1
        return f"{kind}-{self.labels}"

    def code(self, site: str) -> str:
        self.codes[site] += 1
        return str(1_200_000 + self.codes[site] * 7 + len(site))

    def moment(self, day_start: float = 0.0, day_end: float | None = None) -> dt.datetime:
        days = self.rng.uniform(day_start, self.span if day_end is None else day_end)
        at = START + dt.timedelta(days=days)
        if at.hour < 6:  # agencies publish little at night
            at += dt.timedelta(hours=6)
        return at.replace(second=0, microsecond=0)

    def words(self) -> int:
        """Body length in words: 200-700 (a truncated copy keeps 150 or more), most between 250 and 450."""
        return min(700, max(200, int(self.rng.lognormvariate(5.8, 0.35))))

    def original(self, site: str, story: _Story, at: dt.datetime, words: int | None = None) -> _Article:
        w = self.writer
        paragraphs = w.paragraphs(story, (words or self.words()) - 60, first=_credit(site, self.rng))
        if self.rng.random() < 0.35:  # the topic's background paragraph, shared by many stories
            paragraphs.insert(self.rng.randint(1, len(paragraphs)), self.rng.choice(story.topic.background))
        return _Article(site, w.title(story), paragraphs, _footer(site, self.rng), at)

    # -- copies --------------------------------------------------------------------------------------
    def copy(self, of: _Article, story: _Story | None, site: str, at: dt.datetime,
             edits: tuple[str, ...]) -> _Article:
        """`of` republished by `site` with `edits`; the footer is always the site's own."""
        r = self.rng
        title, paras = of.title, list(of.paragraphs)
        agency = of.source or SITE_NAME.get(of.site)
        credited = of.source
        for edit in edits:
            if edit == "intro":  # the agency's credit becomes the site's («به گزارش مهر،») or a new line
                first = paras[0].split("، ", 1)[-1] if paras[0].startswith("به گزارش") else paras[0]
                if r.random() < 0.7 and agency:
                    lead = r.choice(("به گزارش {a}، ", "به نقل از {a}، ", "به گزارش خبرگزاری {a}، "))
                    paras[0] = lead.format(a=agency) + first
                    credited = agency
                else:
                    paras[0] = first
                    paras.insert(0, f"{SITE_NAME[site]}: " + r.choice(
                        ("خبری که در ادامه می‌خوانید در ساعات گذشته بازتاب گسترده‌ای داشته است.",
                         "گزارش زیر را از دست ندهید.", "جزئیات این خبر را در ادامه بخوانید.")))
                    credited = None
            elif edit == "headline":
                if story is not None and r.random() < 0.6:
                    title = self.writer.title(story)
                else:
                    extra = r.choice(TITLE_EXTRAS)
                    title = extra + title if extra.endswith(" ") else title + extra
            elif edit == "truncated":  # keep 60-90 % of the words (150 at least), cut at a sentence
                total = sum(len(p.split()) for p in paras)
                keep, kept, out = max(150, total * r.uniform(0.6, 0.9)), 0, []
                for p in paras:
                    sentences = p.split(". ")
                    taken = []
                    for s in sentences:
                        if kept >= keep:
                            break
                        taken.append(s)
                        kept += len(s.split())
                    if taken:
                        out.append(". ".join(taken) + ("" if taken[-1].endswith(".") else "."))
                    if kept >= keep:
                        break
                paras = out
            elif edit == "dropped" and len(paras) > 2:
                paras.pop(r.randrange(1, len(paras)))
            elif edit == "moved" and len(paras) > 2:
                p = paras.pop(r.randrange(1, len(paras)))
                paras.insert(r.randrange(1, len(paras) + 1), p)
            elif edit == "added":
                sentence = self.writer.sentence(story) if story is not None else r.choice(SITE_FOOTERS).format(
                    name=SITE_NAME[site])
                i = r.randrange(len(paras))
                paras[i] = paras[i] + " " + sentence
        if credited is None and paras[0].startswith("به گزارش") and agency:
            credited = agency  # the agency's own credit was kept: the copy credits it
        footer = _footer(site, r)
        for edit, by in (("zwnj_space", " "), ("zwnj_removed", "")):  # the site's CMS: its footer too
            if edit in edits:
                title, paras, footer = (title.replace(ZWNJ, by), [p.replace(ZWNJ, by) for p in paras],
                                        [p.replace(ZWNJ, by) for p in footer])
        return _Article(site, title, paras, footer, at, credited)

    def pick_edits(self) -> tuple[str, ...]:
        r = self.rng
        first = EDITS[self.edit_turn % len(EDITS)]
        self.edit_turn += 1
        others = r.sample(EDITS, r.choice((0, 0, 1, 1, 2)))
        picked = [first] + [e for e in others if e != first]
        if "zwnj_space" in picked and "zwnj_removed" in picked:
            picked.remove("zwnj_removed")
        return tuple(picked)

    def delay(self) -> dt.timedelta:
        """Minutes to days: most copies within hours, a few two or three days later."""
        minutes = min(4 * 24 * 60, max(3.0, self.rng.lognormvariate(4.5, 1.4)))
        return dt.timedelta(minutes=int(minutes))

    def copies(self, original: _Article, story: _Story | None, label: str, kind_meta: list, count: int,
               light: bool = False, undated: bool = True) -> None:
        """`count` republications of `original` (sometimes of an earlier copy), appended to `kind_meta`;
        `undated`: some may lack a date (not when the same text comes again later: which would it be?)."""
        r = self.rng
        sources = [original]
        used = {original.site}
        for _ in range(count):
            of = r.choice(sources) if r.random() < 0.2 else original
            site = r.choice([s for s in REPUBLISHERS + AGENCIES if s not in used])
            used.add(site)
            edits = (r.choice(("intro", "zwnj_space", "added")),) if light else self.pick_edits()
            later = dt.timedelta(minutes=r.randint(3, 180)) if light else self.delay()  # light: today's news
            # a republisher's clock minutes ahead: the copy is dated before its original, but keeps its credit
            early = not light and of is original and original.site in AGENCY and (
                r.random() < 0.04 or self.owed["early"] > 0)
            if early:
                edits = tuple(e for e in edits if e != "intro") or ("added",)
                later = -dt.timedelta(minutes=r.randint(1, 20))
            base = original.at if early else max(of.at, original.at)
            made = self.copy(of, story, site, base + later, edits)
            made.dated = light or early or not undated or (r.random() > 0.02 and self.owed["undated"] <= 0)
            self.owed["early"] -= early
            self.owed["undated"] -= not made.dated
            sources.append(made)
            meta = {"edits": edits, "of": of, "origin": original, "early": early}
            kind_meta.append((made, label, "copy", meta))

    # -- groups --------------------------------------------------------------------------------------
    def group_story(self, copies: int, rerun: bool = False) -> list:
        """An agency's story and `copies` republications; `rerun`: also the same text republished 9 to 14
        days later (an anniversary, a site's late re-run): outside the window, so a story of its own."""
        r = self.rng
        story = self.writer.story()
        original = self.original(r.choice(AGENCIES), story, self.moment())
        label = self.label("story")
        out = [(original, label, "original" if copies else "single", {})]
        self.copies(original, story, label, out, copies, undated=not rerun)
        if rerun:
            site = r.choice([s for s in REPUBLISHERS if s not in {a.site for a, *_ in out}])
            later = original.at + dt.timedelta(days=r.uniform(9, 14))
            made = self.copy(original, story, site, later.replace(second=0, microsecond=0), ("intro",))
            out.append((made, self.label("rerun"), "rerun", {"of": original}))
        return out

    def group_same_topic(self) -> list:
        """Two stories of one topic with the same people, organisations, city and background paragraph."""
        r = self.rng
        first = self.writer.story()
        second = _Story(first.topic, first.people, first.orgs, first.cities,
                        r.sample([n for n in first.topic.nouns if n not in first.nouns], 4) + first.nouns[:2])
        background = r.choice(first.topic.background)
        at = self.moment()
        out = []
        template = r.choice(TITLES)
        for story in (first, second):
            site = r.choice(AGENCIES)
            article = self.original(site, story, at + dt.timedelta(minutes=r.randint(0, 2 * 24 * 60)))
            article.paragraphs.insert(1, background)
            article.title = self.writer.title(story, template)
            label = self.label("topic")
            out.append((article, label, "same_topic", {}))
            self.copies(article, story, label, out, r.choice((0, 1, 2)))
        return out

    def group_independent(self) -> list:
        """One event told by two agencies: the same facts, each in its own words and filler."""
        r = self.rng
        kind = r.choice(tuple(EVENTS))
        story = self.writer.story()
        facts = {"mag": f"{r.randint(38, 62) / 10}",
                 "clock": f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
                 "city": r.choice(CITIES), "depth": r.randint(5, 40), "hurt": r.randint(3, 60),
                 "bad": r.randint(1, 3), "dead": r.randint(2, 19), "road": r.choice(ROADS),
                 "place": r.choice(PLACES), "crews": r.randint(3, 14), "team": "", "team2": "",
                 "g1": r.randint(2, 4), "g2": r.randint(0, 1), "week": r.randint(3, 28),
                 "scorer": " ".join((r.choice(FIRST), r.choice(LAST))), "minute": r.randint(5, 90),
                 "fans": r.randint(5, 70), "rank": r.randint(1, 8), "person": story.people[0][0],
                 "person2": story.people[1][0], "noun": story.nouns[0], "noun2": story.nouns[1],
                 "n": r.randint(3, 12)}
        facts["team"], facts["team2"] = r.sample(TEAMS, 2)
        variants = [r.sample(range(3), 2) for _ in EVENTS[kind]]
        at = self.moment()
        sites = r.sample(AGENCIES, 2)
        out = []
        for side in (0, 1):
            facts_text = [variant[variants[i][side]].format(**facts) for i, variant in enumerate(EVENTS[kind])]
            if side:
                facts_text = facts_text[:1] + facts_text[:0:-1]
            filler = self.writer.paragraphs(_Story(story.topic, story.people, story.orgs, story.cities,
                                                   r.sample(story.topic.nouns, 6)), self.words() - 60)
            paragraphs = [_credit(sites[side], r) + " ".join(facts_text[:2]), " ".join(facts_text[2:]), *filler]
            title = EVENTS[kind][0][variants[0][side]].format(**facts).split(" ", 12)
            article = _Article(sites[side], " ".join(title[:10]).rstrip("،."), paragraphs,
                               _footer(sites[side], r), at + dt.timedelta(minutes=r.randint(5, 90) * side))
            label = self.label("event")
            out.append((article, label, "independent", {}))
            self.copies(article, None, label, out, r.choice((0, 1, 2)))
        return out

    def group_daily(self, days: int, kind: str | None = None, cities: int | None = None) -> list:
        """One site's daily template (prices, weather, prayer times, the index) for `days` days in a row;
        each day is its own story, sometimes republished that day by another site. Prayer times come for
        one to three cities at once (the site's page per city, published together: "daily_city")."""
        r = self.rng
        kind = kind or r.choice(DAILY_KINDS)
        site = r.choice(AGENCIES + REPUBLISHERS)
        first_day = int(r.uniform(0, max(1, self.span - days)))
        hour = r.randint(7, 11)
        pages = []  # per city page: [city, the cities of its rows, numbers, yesterday's article]
        for city in r.sample(CITIES, cities or (r.choice((1, 1, 2, 3)) if kind == "prayer" else 1)):
            rows = r.sample(CITIES, 6)
            state = {"gold": [r.randint(40, 900) * 100_000 for _ in COINS],
                     "currency": [r.randint(1_000, 120_000) * 10 for _ in CURRENCIES],
                     "weather": [r.randint(-5, 30) for _ in rows],
                     "prayer": [r.randint(0, 59) for _ in rows],
                     "stock": [r.randint(1_500_000, 3_500_000), r.randint(5, 30) * 1000]}[kind]
            pages.append([city, rows, state, None])
        out = []
        for d in range(first_day, first_day + days):
            day = (START + dt.timedelta(days=d)).date()
            at = dt.datetime.combine(day, dt.time(hour, r.randint(0, 50)), TEHRAN)
            today = []
            for i, page in enumerate(pages):
                city, rows, state, previous = page
                page[2] = state = self._step(kind, state)
                title, paragraphs = self._daily_text(kind, state, day, city, rows, site)
                article = _Article(site, title, paragraphs, _footer(site, r), at + dt.timedelta(minutes=i))
                label = self.label("daily")
                out.append((article, label, "daily", {"previous": previous, "sibling": today[:1]}))
                today.append(article)
                page[3] = article
                if r.random() < 0.3:
                    self.copies(article, None, label, out, 1, light=True)
        return out

    def _step(self, kind: str, state: list[int]) -> list[int]:
        """The next day's numbers: most change a little."""
        r = self.rng
        if kind in ("gold", "currency"):
            return [v + r.choice((-1, 1)) * r.randint(1, 40) * (v // 2000 or 1) if r.random() < 0.85 else v
                    for v in state]
        if kind == "weather":
            return [v + r.randint(-3, 3) for v in state]
        if kind == "prayer":
            return [(v + (1 if r.random() < 0.7 else 0)) % 60 for v in state]
        return [state[0] + r.randint(-40_000, 40_000), r.randint(5, 30) * 1000]

    def _daily_text(self, kind: str, state: list[int], day: dt.date, city: str, cities: list[str],
                    site: str) -> tuple[str, list[str]]:
        j = jdatetime.date.fromgregorian(date=day)
        date = f"{WEEKDAYS[day.weekday()]} {j.day} {MONTHS[j.month - 1]} {j.year}"
        lead = _credit(site, self.rng, "اقتصادی") if site in AGENCY else f"به گزارش {SITE_NAME[site]}، "
        if kind == "gold":
            title = f"قیمت طلا و سکه امروز {date}"
            items = [f"{name} {_money(v)} تومان" for name, v in zip(COINS, state, strict=True)]
            paragraphs = [lead + f"قیمت طلا و سکه امروز {date} در بازار آزاد تهران اعلام شد.",
                          f"بر این اساس قیمت {items[0]} است و {items[1]} معامله می‌شود.",
                          "، ".join(items[2:5]) + " قیمت خورده است.",
                          "در بازار طلا نیز " + "، ".join(items[5:]) + " است.",
                          "قیمت‌های اعلام‌شده مربوط به بازار آزاد است و ممکن است در طول روز و با توجه به نوسان "
                          "نرخ ارز و انس جهانی تغییر کند؛ کارشناسان توصیه می‌کنند خریداران پیش از هر معامله "
                          "قیمت‌ها را از منابع معتبر استعلام کنند و به شایعات فضای مجازی توجه نکنند.",
                          "گفتنی است قیمت سکه در معاملات امروز تحت تأثیر نرخ دلار در بازار آزاد و انتظارات "
                          "تورمی قرار داشت و فعالان بازار روند آینده قیمت‌ها را به تصمیمات بانک مرکزی وابسته "
                          "می‌دانند."]
        elif kind == "currency":
            title = f"قیمت دلار و ارز امروز {date}"
            items = [f"{name} {_money(v)} تومان" for name, v in zip(CURRENCIES, state, strict=True)]
            paragraphs = [lead + f"نرخ ارزهای مختلف امروز {date} در بازار آزاد اعلام شد.",
                          f"بر اساس این گزارش {items[0]} و {items[1]} معامله شد.",
                          "همچنین " + "، ".join(items[2:6]) + " قیمت خورده است.",
                          "در سایر ارزها " + "، ".join(items[6:]) + " است.",
                          "نرخ ارز در بازار آزاد با نرخ مرکز مبادله ارز و طلای ایران متفاوت است و معاملات "
                          "رسمی واردکنندگان کالاهای اساسی با نرخ مصوب بانک مرکزی انجام می‌شود؛ فعالان بازار "
                          "معتقدند اخبار سیاسی و انتظارات تورمی بیشترین اثر را بر نوسان قیمت‌ها دارند.",
                          "صرافی‌های مجاز بانک مرکزی نیز امروز نرخ خرید و فروش ارز را بر اساس سامانه نیما "
                          "اعلام کردند و به گفته فعالان بازار حجم معاملات نسبت به روزهای گذشته تغییر چندانی "
                          "نداشته است."]
        elif kind == "weather":
            title = f"پیش‌بینی وضع هوای کشور امروز {date}"
            items = [f"{c} {self.rng.choice(SKY)} با دمای {v} تا {v + 9} درجه"
                     for c, v in zip(cities, state, strict=True)]
            paragraphs = [lead + f"سازمان هواشناسی وضعیت جوی امروز {date} را اعلام کرد.",
                          "بر اساس پیش‌بینی این سازمان هوای " + "، ".join(items[:3]) + " خواهد بود.",
                          "همچنین هوای " + "، ".join(items[3:]) + " پیش‌بینی شده است.",
                          f"بیشترین دمای امروز در {cities[0]} به {state[0] + 9} درجه و کمترین دما در "
                          f"{cities[-1]} به {state[-1]} درجه می‌رسد.",
                          "سازمان هواشناسی از رانندگان خواسته است در جاده‌های کوهستانی با احتیاط تردد کنند و "
                          "تجهیزات زمستانی همراه داشته باشند؛ کشاورزان و دامداران نیز باید برای کاهش خسارت "
                          "ناشی از سرمازدگی و وزش باد شدید تدابیر لازم را بیندیشند.",
                          "گفتنی است پیش‌بینی‌های بلندمدت نشان می‌دهد که میزان بارش‌های پاییزی امسال در "
                          "بیشتر مناطق کشور کمتر از میانگین بلندمدت خواهد بود و کم‌آبی همچنان ادامه دارد."]
        elif kind == "prayer":
            title = f"اوقات شرعی {city} امروز {date}"
            rows = []
            for c, m in zip(cities, state, strict=True):
                times = [f"{h:02d}:{(m + k * 7) % 60:02d}" for k, h in enumerate((5, 6, 12, 17, 17, 23))]
                named = (f"{name} {t}" for name, t in zip(PRAYERS, times, strict=True))
                rows.append(f"{c}: " + "، ".join(named))
            paragraphs = [lead + f"اوقات شرعی {city} و مراکز استان‌ها امروز {date} اعلام شد.",
                          *rows,
                          "این اوقات بر اساس محاسبات مؤسسه ژئوفیزیک دانشگاه تهران تنظیم شده و برای شهرهای "
                          "دیگر ممکن است چند دقیقه اختلاف داشته باشد؛ نمازگزاران می‌توانند اوقات شهر خود را از "
                          "سامانه‌های رسمی استعلام کنند.",
                          "قبولی طاعات و عبادات شما را از درگاه خداوند متعال خواستاریم."]
        else:
            title = f"شاخص بورس امروز {date}"
            index, volume = state
            paragraphs = [lead + f"شاخص کل بورس تهران امروز {date} به {_money(index)} واحد رسید.",
                          f"شاخص هم‌وزن نیز در پایان معاملات امروز به {_money(index // 7)} واحد رسید و ارزش "
                          f"معاملات خرد به {_money(volume)} میلیارد ریال رسید.",
                          "در معاملات امروز نمادهای گروه فلزات اساسی، پتروشیمی و بانکی بیشترین تأثیر را بر "
                          "شاخص داشتند و تقاضا در گروه خودرویی همچنان کمتر از عرضه بود.",
                          "کارشناسان بازار سرمایه معتقدند تا زمانی که نرخ سود بانکی بالا بماند و ابهام در "
                          "سیاست‌های ارزی برطرف نشود، بازگشت نقدینگی به بورس با کندی انجام خواهد شد؛ به همین "
                          "دلیل سهامداران خرد باید با احتیاط بیشتری تصمیم بگیرند.",
                          "گفتنی است ورود یا خروج پول حقیقی در هفته‌های اخیر یکی از شاخص‌های مهم برای پیش‌بینی "
                          "روند بازار بوده و فعالان بازار آن را به دقت دنبال می‌کنند.",
                          "سازمان بورس و اوراق بهادار نیز اعلام کرده است که بسته‌های حمایتی از بازار سرمایه "
                          "با هماهنگی وزارت اقتصاد و صندوق تثبیت بازار اجرا خواهد شد."]
        return title, paragraphs

    # -- the whole set -------------------------------------------------------------------------------
    def groups(self) -> Iterator[list]:
        """Story groups forever, the first ones one of each kind (so small sets hold every kind)."""
        r = self.rng
        yield self.group_story(3, rerun=True)
        yield self.group_same_topic()
        yield self.group_independent()
        yield self.group_daily(3, "prayer", 3)
        while True:
            x = r.random()
            if x < 0.52:
                yield self.group_story(r.choice((1, 1, 2, 2, 3, 3, 4, 5, 6)), rerun=r.random() < 0.1)
            elif x < 0.70:
                yield self.group_story(0)
            elif x < 0.82:
                yield self.group_same_topic()
            elif x < 0.92:
                yield self.group_independent()
            else:
                yield self.group_daily(r.randint(3, 10))


def _row(article: _Article, code: str) -> dict:
    return {"site": article.site, "news_code": code, "title": fa(article.title), "body": article.body(),
            "published_at": article.at.isoformat() if article.dated else None, "source": article.source}


def stream(n_articles: int, seed: int = 0, span_days: int = 30) -> Iterator[dict]:
    """`n_articles` articles, story by story (a story's copies follow it), without labels: cheap enough
    for the 100,000-article benchmark."""
    gen = _Generator(seed, span_days)
    left = n_articles
    for group in gen.groups():
        for article, *_ in group[:left]:
            yield _row(article, gen.code(article.site))
        left -= len(group)
        if left <= 0:
            return


def build_set(n_articles: int = 2000, seed: int = 0, span_days: int = 30) -> EvalSet:
    """The labelled set with its bookkeeping, in crawl order (shuffled: copies often come first)."""
    gen = _Generator(seed, span_days)
    out = EvalSet([], {})
    keys: dict[int, Key] = {}  # id(_Article) -> its key
    for group in gen.groups():
        for article, label, kind, meta in group:
            if len(out.articles) == n_articles:
                break
            row = _row(article, gen.code(article.site))
            key = (row["site"], row["news_code"])
            keys[id(article)] = key
            out.articles.append(row)
            out.truth[key] = label
            out.kinds[key] = kind
            if kind == "copy":
                out.edits[key] = meta["edits"]
                out.copied_from[key] = keys[id(meta["of"])]
                out.origin[key] = keys[id(meta["origin"])]
                if meta["early"]:
                    out.early.add(key)
                if not article.dated:
                    out.undated.add(key)
                if article.source:  # the site it credits has an article in the story: the text's source
                    out.credited[key] = next(keys[id(a)] for a, same, _, _ in group if same == label
                                             and id(a) in keys and SITE_NAME[a.site] == article.source)
            elif kind == "daily":
                if meta["previous"] is not None:
                    out.negatives.append((keys[id(meta["previous"])], key, "daily"))
                for sibling in meta["sibling"]:
                    out.negatives.append((keys[id(sibling)], key, "daily_city"))
            elif kind == "rerun":
                out.negatives.append((keys[id(meta["of"])], key, "outside_window"))
        for kind in ("same_topic", "independent"):
            firsts = [keys[id(a)] for a, _, k, _ in group if k == kind and id(a) in keys]
            if len(firsts) == 2:
                out.negatives.append((firsts[0], firsts[1], kind))
        if len(out.articles) == n_articles:
            break
    random.Random(seed + 1).shuffle(out.articles)
    return out


def build(n_articles: int = 2000, seed: int = 0) -> tuple[list[dict], dict[Key, str]]:
    """(articles, truth): dicts with site, news_code, title, body, published_at, source; truth maps
    (site, news_code) to a story label (equal labels = one story)."""
    made = build_set(n_articles, seed)
    return made.articles, made.truth


def expected_copy_of(made: EvalSet, key: Key) -> str | None:
    """What `copy_of` should say (the issue's rule): the credited site's article when the credit names a site
    with an article in the story, else the story's first article; None for that first article."""
    target = made.credited.get(key) or made.origin.get(key)
    return f"{target[0]}:{target[1]}" if target else None


def pair_scores(truth: dict[Key, str], predicted: dict[Key, str]) -> tuple[float, float]:
    """Precision and recall over pairs of articles: a pair is positive when both are in one story.
    Counted from the contingency table (no pair enumeration): C(n, 2) per cell, per row, per column."""
    def pairs(counts) -> int:
        return sum(n * (n - 1) // 2 for n in counts)

    both = pairs(Counter((truth[k], predicted[k]) for k in truth).values())
    said = pairs(Counter(predicted[k] for k in truth).values())
    true = pairs(Counter(truth.values()).values())
    return (both / said if said else 1.0), (both / true if true else 1.0)
