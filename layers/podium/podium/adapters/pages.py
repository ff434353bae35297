"""HTML pages from Jinja2 templates. Autoescaping is on for every template: names come from users."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def environment(*extra_packages: str) -> Environment:
    """Templates of this package, and first those of `extra_packages` (the local stack's own pages). Jinja2 is
    imported here, on the first page, not when a handler module loads: JSON requests never pay for it."""
    from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, select_autoescape

    loaders: list[BaseLoader] = [PackageLoader(p, "templates") for p in extra_packages]
    loaders.append(PackageLoader("podium.adapters", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, *, packages: tuple[str, ...] = (), **context: Any) -> str:
    return environment(*packages).get_template(template).render(**context)


@cache
def source(name: str) -> str:
    """A template file's text as it is (a script or stylesheet that pages inline, and whose hash the CSP names)."""
    env = environment()
    if env.loader is None:  # pragma: no cover - environment() always sets one
        raise LookupError(name)
    text, _, _ = env.loader.get_source(env, name)
    return text
