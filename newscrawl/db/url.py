"""Database URLs in one place: where the URL comes from, how it is normalized, how it is shown.

- Source: NEWSCRAWL_DATABASE_URL in the crawl process's environment, or the file named by
  NEWSCRAWL_DATABASE_URL_FILE (Docker secrets, systemd credentials), so a password never has to pass
  through Scrapyd's schedule.json (it would show in listjobs.json, the process list and the job's log).
  A `-s NEWSCRAWL_DATABASE_URL=` setting still wins, as every setting does.
- Normalized: `postgres://` and `postgresql://` use psycopg (the driver we ship), and an `@` inside the
  password is percent-encoded, so SQLAlchemy does not take the rest of the password for the host.
- Shown: the whole userinfo (user and password) is masked, and so is a `password=` query value, also
  when the URL cannot be parsed. SQLAlchemy's own `hide_password` leaves the part of a password after an `@`.
- The data folder: NEWSCRAWL_DATA_DIR, else `data/` in the project folder (where scrapy.cfg is) wherever
  the command runs from. Only a SQLite database inside it has its folder created; any other SQLite path
  whose folder does not exist is an error (a typo must not silently start a new empty database).
"""

from __future__ import annotations

import os
import re

ENV_URL, ENV_FILE, ENV_DATA = "NEWSCRAWL_DATABASE_URL", "NEWSCRAWL_DATABASE_URL_FILE", "NEWSCRAWL_DATA_DIR"
DB_NAME = "newscrawl.sqlite3"
MASK = "***"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_SECRET_QUERY = re.compile(r"((?:^|[?&;])[^=&;]*pass[^=&;]*=)[^&;#]*", re.IGNORECASE)


class DatabaseURLError(Exception):
    """The configured database URL cannot be used; the message is one line without any secret."""


def data_dir() -> str:
    """NEWSCRAWL_DATA_DIR, else `data` in the project folder (the folder of the closest scrapy.cfg, as
    Scrapy finds the project), else `data` in the working folder (a Scrapyd job runs from an egg)."""
    configured = os.environ.get(ENV_DATA)
    if configured:
        return configured
    from scrapy.utils.conf import closest_scrapy_cfg

    cfg = closest_scrapy_cfg()
    return os.path.join(os.path.dirname(cfg), "data") if cfg else "data"


def default_url(folder: str | None = None) -> str:
    return "sqlite:///" + os.path.join(folder if folder is not None else data_dir(), DB_NAME)


def read_environment(environ=None) -> tuple[str | None, str | None]:
    """(the URL from the environment or from NEWSCRAWL_DATABASE_URL_FILE, or None; an error line, or None)."""
    environ = os.environ if environ is None else environ
    url, path = environ.get(ENV_URL), environ.get(ENV_FILE)
    if url and path:
        return None, f"set {ENV_URL} or {ENV_FILE}, not both"
    if url:
        return url.strip(), None
    if not path:
        return None, None
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return None, f"cannot read {ENV_FILE} {path}: {reason}"
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        return None, f"{ENV_FILE} {path} must hold one line, the database URL (it holds {len(lines)})"
    return lines[0].strip(), None


def from_environment() -> str:
    """The URL for settings.py: from the environment or its file, else the default SQLite database.
    Never raises (settings are imported before any command can print one line): an unreadable file gives
    an empty URL here, and `check_environment` says why."""
    url, error = read_environment()
    if error:
        return ""
    return url or default_url()


def check_environment() -> str | None:
    """The one-line reason the environment's database URL cannot be read, or None."""
    return read_environment()[1]


def _split(url: str) -> tuple[str, str, str, str] | None:
    """(scheme://, userinfo, hostpart, rest) of a URL with an authority; userinfo runs to the LAST `@`
    before the query, so a password holding `@` or `/` stays whole. None when the URL has no authority
    (sqlite:///path) or no scheme."""
    match = _SCHEME.match(url)
    if not match:
        return None
    head, rest = match.group(0), url[match.end():]
    if rest.startswith("/"):
        return None
    before_query = rest.split("?", 1)[0]
    at = before_query.rfind("@")
    if at < 0:
        return head, "", "", rest
    return head, rest[:at], "@", rest[at + 1:]


def mask(url) -> str:
    """The URL with its whole userinfo (when it holds a password) and any password-like query value
    replaced by ***."""
    url = "" if url is None else str(url)
    parts = _split(url)
    if parts is not None and (":" in parts[1] or "@" in parts[1]):  # a bare user name is no secret
        url = parts[0] + MASK + "@" + parts[3]
    elif not _SCHEME.match(url) and "@" in url.split("?", 1)[0]:  # not a URL: all up to the last @ may be secret
        url = MASK + url[url.split("?", 1)[0].rfind("@"):]
    return _SECRET_QUERY.sub(lambda m: m.group(1) + MASK, url)


def password(url: str) -> str | None:
    """The password as written in the URL (None without one), to scrub it from driver messages."""
    parts = _split(url)
    if parts is None or ":" not in parts[1]:
        return None
    return parts[1].split(":", 1)[1] or None


def has_secret(url: str) -> bool:
    """Whether the URL carries a password (in its userinfo or its query)."""
    return bool(password(url)) or bool(_SECRET_QUERY.search(url or ""))


def normalize(url: str) -> str:
    """postgres:// and postgresql:// → postgresql+psycopg://; an `@` inside the userinfo percent-encoded
    (SQLAlchemy decodes it again), so `user:p@ss@host` means host `host`."""
    url = url.strip()
    match = _SCHEME.match(url)
    if match and match.group(1).lower() in ("postgres", "postgresql"):
        url = "postgresql+psycopg://" + url[match.end():]
    parts = _split(url)
    if parts is not None and "@" in parts[1]:
        url = parts[0] + parts[1].replace("@", "%40") + "@" + parts[3]
    return url


def sqlite_folder(database: str) -> None:
    """Make sure the folder of a SQLite file exists: created when it lies in the data folder (the default
    database, a test-site crawl's), otherwise an OSError that says so (nothing is created)."""
    folder = os.path.dirname(os.path.abspath(database))
    if os.path.isdir(folder):
        return
    if os.path.exists(folder):
        raise OSError(f"{folder} is not a directory")
    data = os.path.abspath(data_dir())
    if folder == data or folder.startswith(data + os.sep):
        os.makedirs(folder, exist_ok=True)
        return
    raise OSError(f"the folder {folder} does not exist (create it; only the data folder {data} is created)")
