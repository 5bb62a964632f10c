"""Reading rendered pages as a browser would: forms with their values, element ids, links."""
from __future__ import annotations

import re

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    values: dict = field(default_factory=dict)  # what a browser would send back
    invalid: set = field(default_factory=set)  # names of controls marked aria-invalid


class Page(HTMLParser):
    """A rendered page as a browser sees it: forms with their values, element ids, links."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.forms: dict[str, Form] = {}
        self.ids: Counter = Counter()
        self.links: list[str] = []
        self._form = Form()  # controls outside any form land here and are ignored
        self._textarea = self._select = None
        self.feed(html)
        self.close()

    @property
    def token(self) -> str:
        """The CSRF token of this browser's session, from any form of the page."""
        return next(f.values["csrf_token"] for f in self.forms.values() if "csrf_token" in f.values)

    def handle_starttag(self, tag, attrs):
        a = {key: value or "" for key, value in attrs}
        if "id" in a:
            self.ids[a["id"]] += 1
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "form":
            self._form = self.forms.setdefault(a.get("action", ""), Form())
        elif tag == "option" and self._select and "selected" in a:
            self._form.values[self._select] = a.get("value", "")
        elif tag in ("input", "textarea", "select") and a.get("name"):
            self._control(tag, a["name"], a)

    def _control(self, tag: str, name: str, a: dict) -> None:
        if a.get("aria-invalid") == "true":
            self._form.invalid.add(name)
        kind = a.get("type", "text")
        if tag == "textarea":
            self._textarea, self._form.values[name] = name, ""
        elif tag == "select":
            self._select = name
            self._form.values.setdefault(name, "")
        elif kind in ("radio", "checkbox"):
            if "checked" in a:
                self._form.values[name] = a.get("value", "on")
        elif kind != "file":
            self._form.values[name] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = Form()
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            value = self._form.values[self._textarea]  # a browser drops one leading newline
            self._form.values[self._textarea] = re.sub(r"\A\r?\n", "", value)
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._form.values[self._textarea] += data
