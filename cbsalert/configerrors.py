"""How a validation error of the config becomes ``file:line: key.path: message``, and
``parse_document``: a YAML document into a model, or one ``ConfigError`` listing every problem.

A model validator that finds problems deeper in the config raises ``LocatedProblems``,
each problem with its key path (and, for two values that clash, the path of the first),
so that each is reported at its own line rather than at the top of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from cbsalert.errors import ConfigError
from cbsalert.yamlconf import Document, KeyPath, dotted, read_yaml

_M = TypeVar("_M", bound=BaseModel)


class Located(NamedTuple):
    loc: KeyPath
    message: str
    first: KeyPath | None = None  # where the first of two clashing values is


class LocatedProblems(ValueError):
    """Problems a model validator found deeper in the config, each with its key path, so
    that they are reported at their own line rather than at the top of the file."""

    def __init__(self, problems: list[Located]) -> None:
        super().__init__("; ".join(f"{dotted(p.loc)}: {p.message}" for p in problems))
        self.problems = problems


def format_errors(exc: ValidationError, document: Document) -> Iterator[str]:
    """One ``file:line: key.path: message`` per error, in words a person acts on."""

    def at(loc: KeyPath, message: str, *, missing: bool = False) -> str:
        line, known = document.locate(loc)
        if missing:  # the key is not in the file: name it, at the line of its mapping
            known = (*known, loc[-1])
        return f"{document.name}:{line if line is not None else '?'}: {dotted(known)}: {message}"

    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if any(loc[: len(p)] == p for p in document.replaced):
            continue  # already reported: the value could not be read from the file
        message = error["msg"].removeprefix("Value error, ")
        ctx = error.get("ctx") or {}
        if isinstance(ctx.get("error"), LocatedProblems):
            for problem in ctx["error"].problems:
                text = problem.message
                if problem.first is not None:
                    first, _ = document.locate((*loc, *problem.first))
                    text += f" (first at line {first if first is not None else '?'})"
                yield at((*loc, *problem.loc), text)
            continue
        if error["type"] == "missing":
            yield at(loc, "required key is missing", missing=True)
            continue
        if error.get("input", ...) is None:
            message = "has no value"  # `key:` with nothing after it, or a mis-indented block
        elif error["type"] in ("model_type", "model_attributes_type", "dict_type"):
            message = "should be a mapping of keys to values: is it indented right?"
        elif error["type"] == "extra_forbidden":
            message = f"unknown key {error['loc'][-1]!r}"
        elif error["type"] == "union_tag_invalid":
            message = (
                f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} "
                f"{ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
            )
        elif error["type"] == "union_tag_not_found":
            message = f"missing {ctx.get('discriminator', 'kind').strip(chr(39))}"
        yield at(loc, message)


def parse_document(
    text: str,
    name: str,
    model: type[_M],
    *,
    what: str = "configuration",
    expand_env: bool = True,
    context: dict[str, object] | None = None,
) -> tuple[_M, Document]:
    """Parse a YAML (or JSON) document into ``model``; raise ``ConfigError`` listing every
    problem as ``file:line: key.path: message``. Used for the config file and for the
    simulator's data file (``what="simulator data"``, no ``${ENV}`` expansion)."""
    document = read_yaml(text, name, what=what, expand_env=expand_env)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{name}:1: the {what} must be a mapping of keys to values")
    problems = [document.describe(problem) for problem in document.problems]
    try:
        config = model.model_validate(document.data, context=context)
    except ValidationError as exc:
        problems.extend(format_errors(exc, document))
        config = None
    if problems or config is None:
        count = len(problems)
        raise ConfigError(
            f"{name}: {count} problem{'s' if count != 1 else ''} in the {what}",
            problems=problems,
        )
    return config, document
