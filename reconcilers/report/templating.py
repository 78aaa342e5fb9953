"""The report templates (``templates/``, package data) rendered by Jinja2, autoescaping."""

from __future__ import annotations

import html
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup

from reconcilers.report.formatting import as_text


class JoinLines(Extension):
    """The templates are indented for reading, the reports have no whitespace between tags:
    each line of a ``.j2`` template is stripped and the lines are joined, so text that needs
    a space keeps it within its line."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name is None or not name.endswith(".j2"):
            return source
        return "".join(line.strip() for line in source.splitlines())


def _escaped(value: object) -> object:
    # Every value printed is escaped (autoescape); this spells it as html.escape does (&quot;,
    # &#x27;, where Jinja writes &#34;, &#39;) so that the reports stay byte for byte what
    # they were. Markup (macros, included templates) is already HTML.
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(as_text(value), quote=True))


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("reconcilers.report", "templates"),
        autoescape=True,
        finalize=_escaped,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        extensions=[JoinLines],
    )


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
