# Two commands do everything: `make demo` (offline crawl of the bundled snapshot) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SCRAPY := $(PY) -m scrapy
DEMO := testkit/demo/cassettes
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: install demo test lint bench clean

## The pinned runtime and development packages, then newscrawl itself in editable mode (its dependencies
## are the pins above), so `.venv/bin/pytest` and `import newscrawl` work from any folder
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip wheel
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
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
	$(VENV)/bin/pytest -q -ra -n 2 --dist loadfile

## Lint
lint: install
	$(VENV)/bin/ruff check newscrawl testkit tests bench

bench: install
	$(PY) -m bench

clean:
	rm -rf data/*.jsonl data/*.sqlite3* data/*.json data/*.log build *.egg-info
