# Two commands do everything: `make demo` (offline crawl of the bundled snapshot) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SCRAPY := $(PY) -m scrapy
DEMO := testkit/demo/cassettes
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: install demo test test-fast lint bench clean

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip "setuptools<81" wheel
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

## Crawl the bundled Tabnak snapshot offline (archive, then RSS) into data/tabnak.jsonl and data/newscrawl.sqlite3
demo: install
	mkdir -p data
	NEWSCRAWL_REPLAY=$(DEMO) NEWSCRAWL_FEED=data/tabnak.jsonl $(SCRAPY) crawl tabnak -a mode=archive -a since=1397/04/29 -a until=1397/04/30 \
		--logfile data/demo.log -L INFO
	NEWSCRAWL_REPLAY=$(DEMO) NEWSCRAWL_FEED=data/tabnak.jsonl $(SCRAPY) crawl tabnak -a mode=rss --logfile data/demo.log -L INFO
	$(SCRAPY) summary --brief

## The whole suite (unit, real pages, end-to-end crawls, PostgreSQL, Redis, Scrapyd, Chromium), two
## workers (pytest-xdist; a test file stays on one worker, with its module's test site)
test: install
	$(PY) -m pytest -q -ra -n 2 --dist loadfile

## Lint
lint: install
	$(VENV)/bin/ruff check newscrawl tests bench

bench: install
	$(PY) -m bench

clean:
	rm -rf data/*.jsonl data/*.sqlite3* data/*.json data/*.log build *.egg-info
