"""The config file's YAML as plain data: the line of every key, ``${ENV}`` expanded, and
every mistake a ``file:line`` problem rather than an exception or a silent surprise.

PyYAML composes the node graph (an alias stays a reference to its anchor's node, so this
is linear in the file); the values are built here rather than by ``yaml.safe_load``,
which would let a repeated key silently replace the first one, expand aliases without
limit (nine levels of ten aliases, the "billion laughs", are 10^9 values), and answer a
``!!python/...`` tag, a list used as a key or a 30th of February with a traceback. Here:

* only plain values are read: text, numbers, true/false, null, dates, lists, mappings
  (and ``<<`` merge keys, which explicit keys override, as YAML means them);
* a key is a plain value, given once per mapping;
* aliases may build at most as many values as the file itself holds, plus
  ``ALIAS_BUDGET``: plenty for ``rules: *standard`` on every user, and a bomb is refused
  after a few thousand values;
* nesting deeper than ``MAX_DEPTH`` is refused (no config needs it, and building recurses).

A problem that leaves a value unreadable replaces the value by ``None`` and is recorded
with its key path, so that the models' own complaint about that ``None`` is not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from cbsalert.envvars import expand_env
from cbsalert.errors import ConfigError

KeyPath = tuple[Any, ...]

ALIAS_BUDGET = 10_000
MAX_DEPTH = 50
SECRET_KEYS = frozenset(
    {"sys_password", "password", "token", "webhook_url", "heartbeat_url", "routing_key", "secret"}
)

# libyaml when the wheel has it: ten times faster on a ten-thousand-user watch list, and
# its nodes carry the same line marks the error messages use.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(
    _YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")
)
_MAP, _SEQ, _MERGE = _YAML_TAG + "map", _YAML_TAG + "seq", _YAML_TAG + "merge"


@dataclass(frozen=True)
class Problem:
    path: KeyPath
    line: int
    message: str


@dataclass
class Document:
    """The data of one file, the line of each key path, and what was wrong in it."""

    name: str
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Paths whose value a problem replaced by None (unreadable, or a missing variable).
    replaced: set[KeyPath] = field(default_factory=set)
    literal_secrets: list[KeyPath] = field(default_factory=list)
    expand_env: bool = True

    def locate(self, loc: tuple[Any, ...]) -> tuple[int | None, KeyPath]:
        """The line of the deepest key of ``loc`` that is in the file, and that key's path
        (a model's error location also holds names that are not keys, such as a union tag)."""
        known: list[Any] = []
        for part in loc:
            if (*known, part) in self.lines:
                known.append(part)
        return self.lines.get(tuple(known)), tuple(known)

    def describe(self, problem: Problem) -> str:
        where = f"{dotted(problem.path)}: " if problem.path else ""
        return f"{self.name}:{problem.line}: {where}{problem.message}"


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def read_yaml(text: str, name: str, *, what: str = "config", expand_env: bool = True) -> Document:
    """Build ``text``'s data; raises ``ConfigError`` when it cannot be read at all.
    ``expand_env`` False keeps ``${VAR}`` as written (the simulator's data file)."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        what = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        raise ConfigError(f"{name}:{line}: invalid YAML: {what}") from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_syntax_error(exc, name)) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(f"{name}: invalid YAML: {_one_line(str(exc))}") from None
    if node is None:
        raise ConfigError(f"{name}: the {what} is empty")
    document = Document(name, expand_env=expand_env)
    try:
        document.data = _Builder(document).build(node, (), 0, node.start_mark.line + 1, None)
    except _Refused as exc:
        raise ConfigError(document.describe(exc.problem)) from None
    return document


def _syntax_error(exc: yaml.MarkedYAMLError, name: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{name}:{mark.line + 1}" if mark is not None else name
    message = exc.problem or exc.context or "cannot be parsed"
    if exc.problem and exc.context:
        context = exc.context
        if exc.context_mark is not None:
            context += f" at line {exc.context_mark.line + 1}"
        message += f" ({context})"
    return f"{where}: invalid YAML: {_one_line(message)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Refused(Exception):
    """Building stops here: going on would cost without bound."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Builder:
    def __init__(self, document: Document) -> None:
        self.doc = document
        self.seen: set[int] = set()  # nodes built once; meeting one again is an alias
        self.fresh = 0
        self.reused = 0
        self.constructor = SafeConstructor()
        self.reported: set[tuple[int, str]] = set()  # (node id, message)

    def build(
        self, node: yaml.Node, path: KeyPath, depth: int, at: int, alias: Problem | None
    ) -> Any:
        """``at``: the line the value is written on; ``alias``: where the outermost alias
        being expanded is used (None outside aliases), for the budget's message."""
        if depth > MAX_DEPTH:
            raise _Refused(Problem((), at, f"nested more than {MAX_DEPTH} levels deep"))
        if id(node) in self.seen:
            alias = alias or Problem(path, at, "")
            self.reused += 1
            if self.reused > ALIAS_BUDGET + self.fresh:
                raise _Refused(
                    Problem(
                        alias.path, alias.line,
                        f"aliases expand to more than {ALIAS_BUDGET:,} values beyond those "
                        "written in the file (an alias bomb?): write the values out",
                    )
                )  # fmt: skip
        else:
            self.seen.add(id(node))
            self.fresh += 1
        self.doc.lines[path] = at
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                return self._refuse_tag(node, path, at)
            return self._mapping(node, path, depth, at, alias)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self._refuse_tag(node, path, at)
            return [
                self.build(item, (*path, i), depth + 1, self._line(item, at, alias), alias)
                for i, item in enumerate(node.value)
            ]
        assert isinstance(node, yaml.ScalarNode)
        try:
            value = _construct(self.constructor, node)
        except _Unreadable as exc:
            return self._unreadable(node, path, at, str(exc))
        if isinstance(value, str):
            if path and str(path[-1]) in SECRET_KEYS and "${" not in value and value:
                self.doc.literal_secrets.append(path)
            return self._expand(node, value, path, at) if self.doc.expand_env else value
        return value

    def _mapping(
        self, node: yaml.MappingNode, path: KeyPath, depth: int, at: int, alias: Problem | None
    ) -> dict[Any, Any]:
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                line = alias.line if alias is not None else _line(key_node)
                for source in self._merge_sources(value_node, path, line):
                    built = self.build(source, path, depth + 1, line, alias)
                    for key, value in built.items() if isinstance(built, dict) else ():
                        merged.setdefault(key, value)  # the first source listed wins
        result: dict[Any, Any] = {}
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            line = _line(key_node) if alias is None else alias.line
            key = self._key(key_node, path, line)
            if key is _NO_KEY:
                continue
            if key in first:
                self._problem(
                    key_node, (*path, key), line, f"duplicate key (first at line {first[key]})"
                )
            first[key] = line
            result[key] = self.build(value_node, (*path, key), depth + 1, line, alias)
            self.doc.lines[(*path, key)] = line
        self.doc.lines[path] = at  # a merge source built at this path wrote its own line
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def _line(self, node: yaml.Node, at: int, alias: Problem | None) -> int:
        """The line of a list item: its own, unless it is an alias (whose node is where
        its anchor is): then the line of the list, which is as near as PyYAML tells."""
        return at if alias is not None or id(node) in self.seen else _line(node)

    def _merge_sources(self, node: yaml.Node, path: KeyPath, line: int) -> list[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            return list(node.value)
        self._problem(node, path, line, "`<<` merges a mapping or a list of mappings")
        return []

    def _key(self, node: yaml.Node, path: KeyPath, line: int) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            kind = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
            self._problem(node, path, line, f"a {kind} cannot be a key")
            return _NO_KEY
        try:
            return _construct(self.constructor, node)
        except _Unreadable as exc:
            self._problem(node, path, line, f"a key: {exc}")
            return _NO_KEY

    def _expand(self, node: yaml.Node, text: str, path: KeyPath, line: int) -> str | None:
        return expand_env(text, lambda problem: self._unreadable(node, path, line, problem))

    def _refuse_tag(self, node: yaml.Node, path: KeyPath, line: int) -> None:
        return self._unreadable(node, path, line, _tag_message(node.tag))

    def _unreadable(self, node: yaml.Node, path: KeyPath, line: int, message: str) -> None:
        self.doc.replaced.add(path)
        self._problem(node, path, line, message)

    def _problem(self, node: yaml.Node, path: KeyPath, line: int, message: str) -> None:
        """Record a problem once, however many aliases repeat the value it is in."""
        if (id(node), message) not in self.reported:
            self.reported.add((id(node), message))
            self.doc.problems.append(Problem(path, line, message))


_NO_KEY = object()


class _Unreadable(Exception):
    """A scalar that is not a plain value, or cannot be read as the value it looks like."""


def _construct(constructor: SafeConstructor, node: yaml.ScalarNode) -> Any:
    if node.tag not in _SCALAR_TAGS:
        raise _Unreadable(_tag_message(node.tag))
    try:
        return constructor.construct_object(node)
    except Exception as exc:  # e.g. 2026-02-30, or an integer of 5,000 digits
        reason = getattr(exc, "problem", None) or str(exc)
        raise _Unreadable(f"cannot read this value: {_one_line(reason)}") from None


def _tag_message(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_YAML_TAG) if tag.startswith(_YAML_TAG) else tag
    return (
        f"the tag {shown} is not allowed: a config holds text, numbers, true/false, "
        "lists and mappings"
    )


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1
