"""Keyword rules: the YAML rule file format, its validation, and loading.

:func:`parse_rules` and :func:`parse_term` are pure; :func:`load_rules` only
reads the rule files it is pointed at. Every problem is a
:class:`~monitor.errors.RuleError` located at ``file:line:col`` with the
offending field. See ``rules/README.md`` for the format.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints,
                      ValidationInfo, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from .errors import ConfigError, RuleError
from .text import tokenize
from .yamlfile import YamlDoc, parse_yaml, validate

__all__ = ["Keywords", "Rule", "RuleSet", "TermPattern", "parse_term", "parse_rules", "load_rules",
           "RESERVED_FILES"]

#: File names in a rule directory that are not rule files.
RESERVED_FILES = frozenset({"entities.yaml", "entities.yml"})

WILDCARD = "*"
MIN_PREFIX = 2


@dataclass(frozen=True)
class TermPattern:
    """A term compiled for matching: folded words, the last one a prefix if ``prefix``."""

    words: tuple[str, ...]
    prefix: bool = False


def parse_term(term: str) -> TermPattern:
    """Compile a rule term into the word sequence it matches.

    The term is tokenized like a document (see :func:`monitor.text.tokenize`);
    a ``*`` right after the last word makes that word a prefix. Pure.

    Raises ValueError if the term has no words, or if ``*`` appears anywhere
    but at the end of the last word, or follows fewer than 2 letters.
    """
    body = term.strip()
    prefix = body.endswith(WILDCARD)
    if prefix:
        body = body[:-1]
    if WILDCARD in body:
        raise ValueError("'*' is only allowed once, at the end of the term")
    tokens = tokenize(body)
    if not tokens:
        if prefix:
            raise ValueError(f"a wildcard needs at least {MIN_PREFIX} letters before '*'")
        raise ValueError("the term has no words once punctuation is removed")
    words = tuple(t.norm for t in tokens)
    if prefix:
        if tokens[-1].end != len(body):
            raise ValueError("'*' must directly follow a word")
        if len(words[-1]) < MIN_PREFIX:
            raise ValueError(f"a wildcard needs at least {MIN_PREFIX} letters before '*'")
    return TermPattern(words, prefix)


def _error(kind: str, message: str) -> PydanticCustomError:
    # A custom error keeps pydantic from prefixing "Value error, " to the message.
    return PydanticCustomError(kind, "{message}", {"message": message})


def _check_term(value: str) -> str:
    try:
        parse_term(value)
    except ValueError as e:
        raise _error("bad_term", f"term {value!r}: {e}") from None
    return value


def _check_channel(value: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("channels")
    if known is not None and value not in known:
        configured = ", ".join(sorted(known)) or "none"
        raise _error("unknown_channel", f"unknown channel {value!r} (configured: {configured})")
    return value


def _check_language(value: str) -> str:
    parts = value.replace("_", "-").split("-")
    if not (parts[0].isascii() and parts[0].isalpha() and 2 <= len(parts[0]) <= 3
            and all(p.isascii() and p.isalnum() for p in parts[1:])):
        raise _error("bad_language", f"{value!r} is not a language code like 'fr' or 'fr-CA'")
    return value.lower()


Name = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]
Term = Annotated[str, Field(strict=True), AfterValidator(_check_term)]
Channel = Annotated[Name, AfterValidator(_check_channel)]
Language = Annotated[str, Field(strict=True), AfterValidator(_check_language)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Keywords(_Model):
    """The terms of a rule. ``any``: one must occur; ``all``: each must occur; ``none``: none may."""

    any: tuple[Term, ...] = ()
    all: tuple[Term, ...] = ()
    none: tuple[Term, ...] = ()

    @model_validator(mode="after")
    def _has_terms(self) -> Keywords:
        if not self.any and not self.all:
            raise _error("no_terms", "a rule needs at least one term in 'any' or 'all'")
        return self


class Rule(_Model):
    """One keyword rule, as written in a rule file. Immutable and hashable."""

    name: Name
    description: str = Field("", strict=True)
    keywords: Keywords
    languages: tuple[Language, ...] = ()
    feeds: tuple[Name, ...] = ()
    feed_tags: tuple[Name, ...] = ()
    min_mentions: int = Field(1, ge=1, strict=True)
    channels: tuple[Channel, ...] = ()
    enabled: bool = Field(True, strict=True)
    tags: tuple[Name, ...] = ()


class _RuleFile(_Model):
    rules: tuple[Rule, ...]

    @field_validator("rules", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value


@dataclass(frozen=True)
class RuleSet:
    """Every rule loaded from a file or directory, and the files they came from."""

    rules: tuple[Rule, ...]
    files: tuple[str, ...]


@dataclass(frozen=True)
class _Located:
    rule: Rule
    path: str
    line: int | None
    col: int | None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


def _name_error(doc: YamlDoc, index: int, message: str) -> RuleError:
    line, col = doc.where(("rules", index, "name"))
    return RuleError(message, path=doc.path, line=line, col=col, field=f"rules.{index}.name")


def _parse_located(text: str, path: str, channels: Collection[str] | None) -> list[_Located]:
    try:
        doc = parse_yaml(text, path)
    except ConfigError as e:
        raise RuleError(e.message, path=e.path, line=e.line, col=e.col, field=e.field) from e
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict):
        line, col = doc.where(())
        raise RuleError("a rule file is a mapping with a 'rules:' list", path=path, line=line, col=col)
    context = {"channels": frozenset(channels) if channels is not None else None}
    parsed = validate(_RuleFile, doc, error_cls=RuleError, context=context)
    out: list[_Located] = []
    seen: dict[str, _Located] = {}
    for i, rule in enumerate(parsed.rules):
        line, col = doc.where(("rules", i, "name"))
        here = _Located(rule, path, line, col)
        if rule.name in seen:
            raise _name_error(doc, i, f"duplicate rule name {rule.name!r} "
                                      f"(first defined at {seen[rule.name].where})")
        seen[rule.name] = here
        out.append(here)
    return out


def parse_rules(text: str, path: str, *, channels: Collection[str] | None = None) -> list[Rule]:
    """Parse the YAML rule file ``text`` (``path`` is only used in messages).

    The file is a mapping with a ``rules:`` list; an empty file or an empty
    list gives ``[]``. When ``channels`` is given, every channel a rule names
    must be one of them. Pure: reads nothing but its arguments.

    Raises RuleError, located at ``path:line:col`` with the field, for a YAML
    syntax error, an unknown key, a missing or ill-typed value, a rule without
    ``any``/``all`` terms, a bad term or wildcard, an unknown channel, or a
    rule name used twice. ``err.problems`` lists every validation problem.
    """
    return [loc.rule for loc in _parse_located(text, path, channels)]


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir()
                      if p.suffix in (".yaml", ".yml") and p.name not in RESERVED_FILES
                      and p.is_file())
    if path.exists():
        return [path]
    raise RuleError("no such rule file or directory", path=str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RuleError(f"not UTF-8 text: {e.reason} at byte {e.start}", path=str(path)) from e
    except OSError as e:
        raise RuleError(f"cannot read: {e.strerror or e}", path=str(path)) from e


def load_rules(path: str | os.PathLike[str], *, channels: Collection[str] | None = None) -> RuleSet:
    """Load the rules of one file, or of every ``*.yaml``/``*.yml`` file of a
    directory (not recursive, in name order, skipping the reserved
    ``entities.yaml``). Reads those files and nothing else.

    Every file is checked even when an earlier one is wrong. Raises RuleError
    if ``path`` does not exist, a file cannot be read, any file is invalid
    (see :func:`parse_rules`) or two files define the same rule name (the
    error names both places); ``err.problems`` holds every problem found.
    """
    files = _rule_files(Path(path))
    errors: list[RuleError] = []
    located: list[_Located] = []
    for file in files:
        try:
            located.extend(_parse_located(_read(file), str(file), channels))
        except RuleError as e:
            errors.append(e)
    seen: dict[str, _Located] = {}
    for loc in located:
        first = seen.setdefault(loc.rule.name, loc)
        if first is not loc:
            errors.append(RuleError(
                f"duplicate rule name {loc.rule.name!r} (also defined at {first.where})",
                path=loc.path, line=loc.line, col=loc.col, field="name"))
    if errors:
        first_err = errors[0]
        problems = tuple(p for e in errors for p in e.problems)
        raise RuleError(first_err.message, path=first_err.path, line=first_err.line,
                        col=first_err.col, field=first_err.field, problems=problems)
    return RuleSet(tuple(loc.rule for loc in located), tuple(str(f) for f in files))
