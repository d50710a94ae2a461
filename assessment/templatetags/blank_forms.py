"""Markup of blank forms, rendered once per process and reused.

Crispy renders each field through several templates: on the visit page the blank forms (the
first lesion, four lab rows, imaging, the empty forms of the two <template>s that "Add another"
clones, and the visit itself) were 86% of the server time of every GET, and building those
forms most of the rest. A blank form's markup depends only on its class and prefix, so:

- ``{% crispy_blank form %}`` is ``{% crispy form %}`` that reuses the markup of a blank form;
- ``{% blank_section "name" obj %}...{% endblank_section %}`` reuses a whole part of a page
  while ``obj`` is blank: the forms inside it are then not even built (formsets build their
  forms when first asked).

What may be reused is said by the object itself: ``obj.blank_markup_key()`` returns what,
besides the class and prefix (or section), the markup depends on (``()`` for nothing), or None
when it must be rendered. A bound form (a POST re-rendered with errors, every value kept) or a
form with initial values (a follow-up lesion prefilled from its last observation) answers None
and goes through ``{% crispy %}`` as before. A form whose choices, labels or attributes came
from the database or the request must not offer a key: it would show the first request's
markup to everyone. Markup that holds a CSRF token (per session) is never kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crispy_forms.templatetags.crispy_forms_tags import CrispyFormNode, do_uni_form
from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.utils import translation
from django.utils.autoreload import file_changed

register = template.Library()

# key -> markup. Only blank forms and sections are kept, whose prefixes a client cannot choose;
# an object's own key is at most the visit date's default (one a day). The oldest entry goes
# first once full.
_MARKUP: dict[tuple[Any, ...], str] = {}
_MAX_ENTRIES = 128


def _own_key(obj: Any) -> tuple[Any, ...] | None:
    own = getattr(obj, "blank_markup_key", None)
    return own() if own is not None else None


def _reused(key: tuple[Any, ...] | None, render: Callable[[], str]) -> str:
    if key is None:
        return render()
    key = (translation.get_language(), *key)
    markup = _MARKUP.get(key)
    if markup is None:
        markup = render()
        if "csrfmiddlewaretoken" not in markup:
            while len(_MARKUP) >= _MAX_ENTRIES:
                _MARKUP.pop(next(iter(_MARKUP)), None)
            _MARKUP[key] = markup
    return markup


class BlankCrispyNode(template.Node):
    def __init__(self, crispy: CrispyFormNode) -> None:
        self.crispy = crispy
        self.form = template.Variable(crispy.form)

    def render(self, context: template.Context) -> str:
        try:
            form = self.form.resolve(context)
        except template.VariableDoesNotExist:
            return self.crispy.render(context)
        own = _own_key(form)
        key = None if own is None else ("form", type(form), form.prefix,
                                        self.crispy.template_pack, *own)
        return _reused(key, lambda: self.crispy.render(context))


@register.tag(name="crispy_blank")
def do_crispy_blank(parser: Parser, token: Token) -> BlankCrispyNode:
    """Same arguments as ``{% crispy %}``."""
    return BlankCrispyNode(do_uni_form(parser, token))


class BlankSectionNode(template.Node):
    def __init__(self, name: FilterExpression, source: FilterExpression,
                 nodelist: NodeList) -> None:
        self.name, self.source, self.nodelist = name, source, nodelist

    def render(self, context: template.Context) -> str:
        own = _own_key(self.source.resolve(context))
        key = None if own is None else ("section", self.origin.name,
                                        self.name.resolve(context), *own)
        return _reused(key, lambda: self.nodelist.render(context))


@register.tag(name="blank_section")
def do_blank_section(parser: Parser, token: Token) -> BlankSectionNode:
    """``{% blank_section "name" obj %}...{% endblank_section %}``"""
    bits = token.split_contents()
    if len(bits) != 3:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a section name and an object.")
    nodelist = parser.parse(("endblank_section",))
    parser.delete_first_token()
    return BlankSectionNode(parser.compile_filter(bits[1]), parser.compile_filter(bits[2]),
                            nodelist)


def clear() -> None:
    _MARKUP.clear()


# A template edited under runserver is reloaded without restarting the process (Python edits
# restart it); settings changed by a test may change the markup (template pack, renderer).
@receiver(file_changed, dispatch_uid="blank_forms_file_changed")
def _file_changed(sender: Any, file_path: Any, **kwargs: Any) -> None:
    clear()


@receiver(setting_changed, dispatch_uid="blank_forms_setting_changed")
def _setting_changed(sender: Any, **kwargs: Any) -> None:
    clear()
