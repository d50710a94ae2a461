"""The assessment body's list filters give the markup the template loops gave, escaped alike."""

from __future__ import annotations

from django.template import Context, Template
from django.utils.safestring import mark_safe

TRICKY = ["<b>bold</b> & 'quoted' \"double\"", "Ca×P ≥ 70 mg²/dL² [V R2]", mark_safe("<i>safe</i>"),
          "", 3.5]


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_li_items_match_the_loop_they_replace() -> None:
    loop = render("{% for r in items %}<li>For calcium: {{ r }}</li>{% endfor %}", items=TRICKY)
    fast = render('{% load output_lists %}{{ items|li_items:"For calcium: " }}', items=TRICKY)
    assert fast == loop
    assert render("{% load output_lists %}{{ items|li_items }}", items=None) == ""


def test_rule_and_source_items_match_the_loops_they_replace() -> None:
    rules = [{"id": "HS-<1>", "text": text, "source": "[V R3] & [M]"} for text in TRICKY]
    loop = render('{% for rule in rules %}<li><code>{{ rule.id }}</code> {{ rule.text }} '
                  '<span class="source-tag">{{ rule.source }}</span></li>{% endfor %}',
                  rules=rules)
    assert render("{% load output_lists %}{{ rules|rule_items }}", rules=rules) == loop
    sources = {"[V R3]": "Smith & Jones <2019>", "[M]": mark_safe("<em>Model</em>")}
    loop = render("{% for code, title in sources.items %}<dt>{{ code }}</dt><dd>{{ title }}</dd>"
                  "{% endfor %}", sources=sources)
    assert render("{% load output_lists %}{{ sources|source_items }}", sources=sources) == loop
