"""Test scaffolding: the local test site, its hostile and JavaScript corners, throwaway servers and
the demo builder. Not part of the newscrawl package or its Scrapyd egg."""
