"""Every URL pattern of the project, from a walk of Django's root resolver
(the staff console and /ca/ included), so that the tests that visit every
endpoint (the fuzzer, the authorization sweep) need no list of them."""

from dataclasses import dataclass
from functools import reduce

from django.urls import URLPattern, URLResolver, get_resolver


def _join_route(first: str, second: str) -> str:
    # As django.urls.resolvers.URLResolver._join_route: ResolverMatch.route of a match.
    return second if not first else first + second.removeprefix("^")


@dataclass
class UrlPattern:
    route: str  # ResolverMatch.route of a request that reaches this pattern
    name: str  # namespaced URL name ("certificates:detail", "admin:accounts_customer_change"), "" if unnamed
    callback: object
    segments: tuple  # the RoutePattern / RegexPattern of each level, outermost first

    @property
    def staff(self) -> bool:
        return self.route.startswith("staff/")


def url_patterns(kind: type = UrlPattern) -> list:
    """Every URL pattern, in resolver order, as instances of `kind`."""
    found = []

    def walk(patterns, segments: tuple, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, (*segments, entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                all_segments = (*segments, entry.pattern)
                route = reduce(_join_route, (str(s) for s in all_segments), "")
                found.append(kind(route, f"{namespace}{entry.name}" if entry.name else "", entry.callback, all_segments))

    walk(get_resolver().url_patterns, (), "")
    return found
