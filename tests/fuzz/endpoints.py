"""Every URL pattern, from Django's resolver, and what each one accepts.

Nobody lists endpoints here: `endpoints()` walks Django's resolver
(tests/urlpatterns.py: the staff console and /ca/ included), so a new view is fuzzed the day it
is added. What a view accepts is discovered, not declared:

- the Django forms it uses: a form class captured by a decorator
  (bank.http.json_endpoint), named in its code or in the code of the
  module-level helpers it calls, or on its class (StepUpView's steps);
- the names and values its code compares request data with (the string
  constants of the same code: "step", "send", "confirm", "yes", ...);
- the <form>s and links of the pages every actor is shown (field names,
  hidden values, <select> options, the staff console's filters, actions
  and change forms), mapped back to the pattern their action resolves to.

A pattern is fuzzed unless EXCLUDED names it with the reason; the coverage
test (test_endpoints.py) fails for a pattern that is neither.
"""

import re
import types
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

from django import forms
from django.urls.resolvers import RegexPattern, RoutePattern

from tests.urlpatterns import UrlPattern, url_patterns

# route (as ResolverMatch.route spells it) -> why it is not fuzzed.
EXCLUDED: dict[str, str] = {}

_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,30}$")


class Endpoint(UrlPattern):
    """A URL pattern (tests/urlpatterns.py) and how to build paths that reach it."""

    @property
    def admin_model(self) -> str | None:
        """The model label of a staff console URL (admin:<app>_<model>_<view>), else None."""
        if not self.name.startswith("admin:"):
            return None
        from django.apps import apps

        rest = self.name.removeprefix("admin:")
        for model in apps.get_models():
            if rest.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
                return model._meta.label
        return None

    def pieces(self):
        """The route as literal text and parameters: ("text", str) / ("param", name, converter) / ("regex", pattern)."""
        out = []
        for segment in self.segments:
            if isinstance(segment, RoutePattern):
                text, position = str(segment), 0
                for match in _PARAM.finditer(text):
                    out.append(("text", text[position : match.start()]))
                    out.append(("param", match["name"], segment.converters[match["name"]]))
                    position = match.end()
                out.append(("text", text[position:]))
            elif isinstance(segment, RegexPattern):
                out.append(("regex", segment.regex.pattern))
            else:  # a pattern class of a kind not known here: the coverage test names it
                raise TypeError(f"{self.route}: cannot build URLs for {type(segment).__name__}")
        return [piece for piece in out if piece != ("text", "")]

    def __repr__(self):
        return f"<Endpoint {self.route}>"


def endpoints() -> list[Endpoint]:
    """Every URL pattern of the project, in resolver order."""
    return url_patterns(Endpoint)


# --- What a view's code accepts ---------------------------------------------------------------


@dataclass
class FieldSpec:
    kind: str = "text"  # text, base64, choice, int, date, bool, email
    good: list = field(default_factory=list)  # values the app itself offers or stores
    max_length: int | None = None
    max_bytes: int | None = None


@dataclass
class Accepts:
    """What an endpoint is known to read: body fields, query fields, words its code compares with."""

    post: dict = field(default_factory=dict)  # name -> FieldSpec
    query: dict = field(default_factory=dict)
    words: set = field(default_factory=set)
    forms: set = field(default_factory=set)  # form class names found (for the report)
    methods: set = field(default_factory=set)  # what its decorators allow, or its pages' forms use

    @property
    def main_method(self) -> str:
        return "POST" if "POST" in self.methods or (self.post and not self.methods) else "GET"

    def add(self, where: str, name: str, spec: FieldSpec | None = None, value=None):
        fields = self.post if where == "post" else self.query
        current = fields.setdefault(name, spec or FieldSpec())
        if spec is not None and current is not spec:
            if current.kind == "text":
                current.kind = spec.kind
            current.max_length = current.max_length or spec.max_length
            current.max_bytes = current.max_bytes or spec.max_bytes
            current.good.extend(v for v in spec.good if v not in current.good)
        if value is not None and value not in current.good and len(current.good) < 40:
            current.good.append(value)


def _field_spec(form_field) -> FieldSpec:
    from bank.http import Base64Field

    spec = FieldSpec(max_length=getattr(form_field, "max_length", None))
    if isinstance(form_field, Base64Field):
        spec.kind, spec.max_bytes = "base64", form_field.max_bytes
    elif isinstance(form_field, forms.ChoiceField):
        spec.kind = "choice"
        spec.good = [str(value) for value, _label in form_field.choices if not isinstance(_label, list | tuple)]
    elif isinstance(form_field, forms.IntegerField):
        spec.kind = "int"
    elif isinstance(form_field, forms.DateField):
        spec.kind = "date"
    elif isinstance(form_field, forms.BooleanField):
        spec.kind, spec.good = "bool", ["on", "true", "1"]
    elif isinstance(form_field, forms.EmailField):
        spec.kind = "email"
    return spec


def _form_fields(form_class) -> dict:
    fields = dict(form_class.base_fields)
    try:  # fields added in __init__ (e.g. 인증서 복사's ciphertext)
        fields.update(form_class().fields)
    except Exception:  # noqa: BLE001 - forms that need arguments keep their declared fields
        pass
    return fields


def _functions_of(callback):
    """The function objects behind a view: its decorators' wrappers, the view,
    a class-based view's methods, and the module-level helpers they call (two levels)."""
    seen, queue = [], []
    fn = callback
    while fn is not None and fn not in queue:
        queue.append(fn)
        fn = getattr(fn, "__wrapped__", None)
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        for klass in view_class.__mro__:
            if klass.__module__.startswith("django."):
                continue
            queue.extend(value for value in vars(klass).values() if isinstance(value, types.FunctionType))
    for depth in range(3):
        next_queue = []
        for fn in queue:
            if not isinstance(fn, types.FunctionType) or fn in seen:
                continue
            seen.append(fn)
            if depth == 2:
                continue
            module_globals = fn.__globals__
            for name in fn.__code__.co_names:
                value = module_globals.get(name)
                if isinstance(value, types.FunctionType) and value.__module__ == fn.__module__:
                    next_queue.append(value)
            for cell in fn.__closure__ or ():
                try:
                    value = cell.cell_contents
                except ValueError:
                    continue
                if isinstance(value, types.FunctionType):
                    next_queue.append(value)
        queue = next_queue
    return seen


def _constants(code) -> list:
    out = list(code.co_consts)
    for value in code.co_consts:
        if isinstance(value, types.CodeType):
            out.extend(_constants(value))
    return out


def from_code(endpoint: Endpoint) -> Accepts:
    accepts = Accepts()
    form_classes = []
    view_class = getattr(endpoint.callback, "view_class", None)
    if view_class is not None:
        form_classes += [v for v in vars(view_class).values() if isinstance(v, type) and issubclass(v, forms.BaseForm)]
    for fn in _functions_of(endpoint.callback):
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, type) and issubclass(value, forms.BaseForm):
                form_classes.append(value)
            # require_http_methods(request_method_list) and json_endpoint(methods=...)
            elif name in ("request_method_list", "methods") and isinstance(value, list | tuple):
                accepts.methods |= {str(method).upper() for method in value}
        for name in fn.__code__.co_names:
            value = fn.__globals__.get(name)
            if isinstance(value, type) and issubclass(value, forms.BaseForm) and not value.__module__.startswith("django."):
                form_classes.append(value)
            elif isinstance(value, str) and _IDENTIFIER.match(value):  # STEP_SMS = "sms"
                accepts.words.add(value)
        for constant in _constants(fn.__code__):
            if isinstance(constant, str) and _IDENTIFIER.match(constant):
                accepts.words.add(constant)
    for form_class in dict.fromkeys(form_classes):
        accepts.forms.add(form_class.__name__)
        for name, form_field in _form_fields(form_class).items():
            # A form bound to request.GET (거래내역 filters) is read from the query; the rest from the body.
            accepts.add("post", name, _field_spec(form_field))
            accepts.add("query", name, _field_spec(form_field))
    return accepts


# --- What the pages show ------------------------------------------------------------------------


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []  # {"action", "method", "fields": [(name, value, kind)]}
        self.links = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": []}
            self.forms.append(self._form)
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif self._form is not None and a.get("name"):
            if tag == "input":
                kind = a.get("type", "text").lower()
                if kind in ("checkbox", "radio") and "value" not in a:
                    a["value"] = "on"
                self._form["fields"].append((a["name"], a.get("value", ""), kind))
            elif tag == "button":
                self._form["fields"].append((a["name"], a.get("value", ""), "button"))
            elif tag == "textarea":
                self._form["fields"].append((a["name"], "", "textarea"))
            elif tag == "select":
                self._select = a["name"]
                self._form["fields"].append((a["name"], "", "select"))
        if tag == "option" and self._form is not None and self._select:
            self._form["fields"].append((self._select, a.get("value", ""), "option"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def learn_from_page(path: str, html: str, learned: dict, resolve_route) -> None:
    """Add the forms and links of one page to `learned` (route -> Accepts)."""
    parser = _PageParser()
    try:
        parser.feed(html)
    except Exception:  # noqa: BLE001 - a page the parser chokes on teaches nothing
        return
    for form in parser.forms:
        target = urlsplit(form["action"] or path)
        route = resolve_route(target.path or urlsplit(path).path)
        if route is None:
            continue
        accepts = learned.setdefault(route, Accepts())
        where = "post" if form["method"] == "post" else "query"
        accepts.methods.add(form["method"].upper())
        for name, value, kind in form["fields"]:
            if name == "csrfmiddlewaretoken":
                continue
            spec_kind = {"number": "int", "date": "date", "checkbox": "bool", "email": "email", "file": "file"}.get(kind, "text")
            accepts.add(where, name, FieldSpec(kind=spec_kind), value)
        for name, value in parse_qsl(target.query, keep_blank_values=True):
            accepts.add("query", name, None, value)
    for href in parser.links:
        target = urlsplit(href)
        if not target.query or (target.netloc and target.netloc not in ("testserver",)):
            continue
        route = resolve_route(target.path or urlsplit(path).path)
        if route is None:
            continue
        for name, value in parse_qsl(target.query, keep_blank_values=True):
            learned.setdefault(route, Accepts()).add("query", name, None, value)


def merge(*parts: Accepts) -> Accepts:
    out = Accepts()
    for part in parts:
        for where, fields in (("post", part.post), ("query", part.query)):
            for name, spec in fields.items():
                out.add(where, name, FieldSpec(spec.kind, list(spec.good), spec.max_length, spec.max_bytes))
        out.words |= part.words
        out.forms |= part.forms
        out.methods |= part.methods
    return out


def resolve_route(path: str) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        return resolve(path).route
    except Resolver404:
        return None


def example_path(world, endpoint: Endpoint, actor: str) -> str:
    """A path that reaches the endpoint, with the actor's own identifiers where it has them."""
    from hypothesis import find
    from hypothesis import strategies as st

    from tests.fuzz.strategies import quote

    out = []
    for piece in endpoint.pieces():
        if piece[0] == "text":
            out.append(piece[1])
        elif piece[0] == "regex":
            out.append(quote(find(st.from_regex(piece[1], fullmatch=True), lambda _: True), safe="/"))
        else:
            _kind, name, converter = piece
            if name in ("pk", "object_id") and endpoint.admin_model:
                candidates = [str(pk) for pk in world.pks.get(endpoint.admin_model, [])]
            elif name == "content_type_id":
                candidates = [str(pk) for pk in world.pks.get("contenttypes.ContentType", [])]
            else:
                candidates = list(world.own.get(actor, {}).get(name, [])) + list(world.values.get(name, []))
            candidates = [c for c in candidates if re.fullmatch(converter.regex, c)]
            if not candidates:
                candidates = [find(st.from_regex(converter.regex, fullmatch=True), lambda _: True)]
            out.append(quote(candidates[0], safe="/"))
    path = "/" + "".join(out)
    if resolve_route(path) != endpoint.route:  # e.g. a catch-all whose shortest match is another pattern's
        from tests.fuzz.strategies import path as path_strategy

        path = find(path_strategy(world, endpoint), lambda p: resolve_route(p.split("?")[0]) == endpoint.route)
    return path


def crawl(world, endpoint_list, actors) -> dict:
    """GET every endpoint as each actor and learn the forms and links of the
    pages (route -> Accepts): the staff console as staff, the rest as the
    others. A visitor half-way through a flow (actors after the first
    visitor) only adds the pages the plain visitor was not shown."""
    learned: dict = {}
    seen_by_visitor = set()
    for actor in actors:
        for endpoint in endpoint_list:
            if endpoint.staff != (actor == "staff"):
                continue
            if actor.startswith("anon_") and endpoint.route in seen_by_visitor:
                continue
            path = example_path(world, endpoint, actor)
            try:
                response = world.client(actor).get(path)
            except Exception:  # noqa: BLE001 - a page that fails to render is the fuzzer's to find
                continue
            if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
                if actor == "anon":
                    seen_by_visitor.add(endpoint.route)
                learn_from_page(path, response.content.decode("utf-8", "replace"), learned, resolve_route)
    return learned
