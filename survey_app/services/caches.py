"""The blank form, rendered once per code, language and address, then reused.

Rendering the questionnaire (some hundred translated strings, six questions of choices,
the face sprite) costs far more than everything else a citizen's first request does. A
blank form differs from one request to the next only in its two hidden tokens, so each
worker keeps the rendered page with two slots in their place and fills them in per
request. The key holds everything else the page shows: the code, the names of its agency,
counter and sector (a renamed agency gets a new page at once), the language and the query
string (the language links repeat it). The code's state is kept a few seconds (`RecentCodes`);
sending answers always reads it from the database.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

T = TypeVar("T")

# Never in a token (URL-safe base64, hex and dots) nor in any page we render.
CSRF_SLOT = "\x00csrf-token\x00"
SUBMIT_SLOT = "\x00submit-token\x00"


class PageCache:
    """A small least-recently-used store of rendered pages with token slots."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._encoded: OrderedDict[Hashable, tuple[str, EncodedPage]] = OrderedDict()
        self._lock = Lock()  # threaded workers share one cache

    def page(
        self, key: Hashable, render: Callable[[], tuple[str, str, str]], csrf: str, submit: str
    ) -> str:
        """Return the page for `key` with the tokens filled in.

        `render()` renders the page with some tokens and returns (page, its CSRF token,
        its submit token); it runs when `key` is not cached yet.
        """
        with self._lock:
            template = self._pages.get(key)
            if template is not None:
                self._pages.move_to_end(key)
        if template is None:
            page, rendered_csrf, rendered_submit = render()
            template = page.replace(rendered_csrf, CSRF_SLOT).replace(
                rendered_submit, SUBMIT_SLOT
            )
            if template.count(CSRF_SLOT) != 1 or template.count(SUBMIT_SLOT) != 1:
                return page  # a token also appears elsewhere: serve it, but never cache it
            with self._lock:
                self._pages[key] = template
                while len(self._pages) > self._size:
                    self._pages.popitem(last=False)
        return self.fill(template, csrf, submit)

    def template(self, key: Hashable) -> str | None:
        """Return the page kept for `key` with its token slots, or None if there is none."""
        with self._lock:
            template = self._pages.get(key)
            if template is not None:
                self._pages.move_to_end(key)
        return template

    def encoded(self, key: Hashable) -> EncodedPage | None:
        """Return the page kept for `key` as UTF-8 bytes around its slots, or None.

        Filling these costs a join, not two replacements and an encoding of the whole page.
        """
        template = self.template(key)
        if template is None:
            return None
        with self._lock:
            kept = self._encoded.get(key)
        if kept is not None and kept[0] is template:
            return kept[1]
        encoded = EncodedPage.of(template)
        with self._lock:
            self._encoded[key] = (template, encoded)
            self._encoded.move_to_end(key)
            while len(self._encoded) > self._size:
                self._encoded.popitem(last=False)
        return encoded

    @staticmethod
    def fill(template: str, csrf: str, submit: str) -> str:
        """Return a kept page with its tokens in their slots."""
        return template.replace(CSRF_SLOT, csrf).replace(SUBMIT_SLOT, submit)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._encoded.clear()


class EncodedPage:
    """A kept page in UTF-8, cut at its two token slots."""

    def __init__(self, head: bytes, first_is_csrf: bool, middle: bytes, tail: bytes) -> None:
        self.head, self.first_is_csrf, self.middle, self.tail = head, first_is_csrf, middle, tail

    @classmethod
    def of(cls, template: str) -> EncodedPage:
        first_is_csrf = template.index(CSRF_SLOT) < template.index(SUBMIT_SLOT)
        first, second = (CSRF_SLOT, SUBMIT_SLOT) if first_is_csrf else (SUBMIT_SLOT, CSRF_SLOT)
        head, rest = template.split(first)
        middle, tail = rest.split(second)
        return cls(head.encode(), first_is_csrf, middle.encode(), tail.encode())

    def fill(self, csrf: str, submit: str) -> bytes:
        """Return the page with its tokens in their slots, in UTF-8."""
        first, second = (csrf, submit) if self.first_is_csrf else (submit, csrf)
        return b"".join((self.head, first.encode(), self.middle, second.encode(), self.tail))


class RecentCodes(Generic[T]):
    """What each code was a few seconds ago, so that reading the form skips the database.

    Only reading the blank form uses it: sending answers always looks the code up afresh,
    so a revoked code never takes another response. Revoking in this process forgets the
    code at once; other workers notice within `ttl` seconds. Unknown codes are not kept,
    so a code just created opens at once everywhere. While the database cannot be reached,
    `last_known` still gives what a code was when last read, to keep its form on the page.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._codes: OrderedDict[str, tuple[float, T]] = OrderedDict()  # (read at, value)
        self._lock = Lock()

    def get(self, code: str, ttl: float, load: Callable[[], T | None]) -> T | None:
        now = time.monotonic()
        if ttl > 0:
            with self._lock:
                kept = self._codes.get(code)
            if kept is not None and now - kept[0] < ttl:
                return kept[1]
        found = load()
        with self._lock:
            if found is None:
                self._codes.pop(code, None)
            else:
                # Kept even when `ttl` is 0, for `last_known`.
                self._codes[code] = (now, found)
                self._codes.move_to_end(code)
                while len(self._codes) > self._size:
                    self._codes.popitem(last=False)
        return found

    def fresh(self, code: str, ttl: float) -> T | None:
        """Return what the code was if it was read less than `ttl` seconds ago, else None."""
        with self._lock:
            kept = self._codes.get(code)
        if kept is None or time.monotonic() - kept[0] >= ttl:
            return None
        return kept[1]

    def last_known(self, code: str, max_age: float) -> T | None:
        """Return what the code was when last read, if that was at most `max_age` seconds ago."""
        with self._lock:
            kept = self._codes.get(code)
        if kept is None or time.monotonic() - kept[0] > max_age:
            return None
        return kept[1]

    def forget(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)


class Rendered:
    """A small least-recently-used store of whole rendered pages, by key.

    The public board keys each page by everything that changes it (agency, quarter,
    language and the data version), so an entry is never stale: a change makes a new key,
    and the old one ages out.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = Lock()

    def page(self, key: Hashable, render: Callable[[], str]) -> str:
        """Return the page for `key`, rendering it when it is not kept yet."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        page = render()
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)
        return page

    def __len__(self) -> int:
        return len(self._pages)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
