"""Rules: the YAML rule file format, its validation, and loading.

:func:`parse_rules` and :func:`parse_term` are pure; :func:`load_rules` only
reads the rule files it is pointed at and the entity catalog beside them.
Every problem is a :class:`~monitor.core.errors.RuleError` located at
``file:line:col`` with the offending field; a query syntax error points at
the character of the query. See ``rules/README.md`` for the format.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints,
                      ValidationError, ValidationInfo, field_validator, model_validator)

from monitor.core.entities import EntityCatalog, _check_term, _error, default_entities, load_entities
from monitor.core.errors import ConfigError, RuleError
from monitor.core.query import MIN_PREFIX, WILDCARD, EntityRef, QueryError, TermPattern, atoms, parse_query, parse_term
from monitor.core.yamlfile import YamlDoc, parse_yaml, read_yaml_text, validation_problems

__all__ = ["Keywords", "Rule", "RuleSet", "RuleList", "TermPattern", "parse_term", "parse_rules",
           "load_rules", "catalog_for", "rule_schema", "RESERVED_FILES", "ENTITY_FILES",
           "MIN_PREFIX", "WILDCARD"]

#: File names in a rule directory that hold the entity catalog, not rules.
ENTITY_FILES = ("entities.yaml", "entities.yml")
#: File names in a rule directory that are not rule files.
RESERVED_FILES = frozenset(ENTITY_FILES)




def _check_channel(value: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("channels")
    if known is not None and value not in known:
        configured = ", ".join(sorted(known)) or "none"
        raise _error("unknown_channel", f"unknown channel {value!r} (configured: {configured})")
    return value


def _check_query(value: str, info: ValidationInfo) -> str:
    try:
        node = parse_query(value)
    except QueryError as e:
        raise _error("bad_query", f"query: {e}") from None
    _check_entity_ids([a.id for a in atoms(node) if isinstance(a, EntityRef)], info)
    return value


def _check_entity_ids(ids, info: ValidationInfo) -> None:
    known = (info.context or {}).get("entities")
    if known is None:
        return
    for entity_id in ids:
        if known.resolve(entity_id) is None:
            raise _error("unknown_entity", _unknown_entity(entity_id, known))


def _unknown_entity(entity_id: str, known) -> str:
    close = sorted(k for k in known.ids if k.startswith(entity_id[:2].lower()))[:5]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown entity {entity_id!r}{hint}; entities are defined in entities.yaml"


def _check_entity(value: str, info: ValidationInfo) -> str:
    _check_entity_ids([value], info)
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
Query = Annotated[str, Field(strict=True), AfterValidator(_check_query)]
EntityId = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1),
                     AfterValidator(_check_entity)]


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
    """One rule, as written in a rule file. Immutable and hashable.

    It says what to look for with exactly one of ``keywords`` (the simple
    form) or ``query`` (the query language, see :mod:`monitor.core.query`), and
    may add ``entities`` (ids from the catalog, at least one of which must be
    mentioned); or with ``entities`` alone.
    """

    name: Name
    description: str = Field("", strict=True)
    keywords: Keywords | None = None
    query: Query | None = None
    entities: tuple[EntityId, ...] = ()
    languages: tuple[Language, ...] = ()
    feeds: tuple[Name, ...] = ()
    feed_tags: tuple[Name, ...] = ()
    min_mentions: int = Field(1, ge=1, strict=True)
    channels: tuple[Channel, ...] = ()
    enabled: bool = Field(True, strict=True)
    tags: tuple[Name, ...] = ()
    delivery: Literal["immediate", "digest", "throttle"] = "immediate"
    per_hour: int | None = Field(None, ge=1, strict=True)
    spike_alerts: bool = Field(False, strict=True)  # one alert when matches per hour jump far above normal

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        if self.delivery == "throttle" and self.per_hour is None:
            raise _error("no_per_hour", "'delivery: throttle' needs 'per_hour'")
        if self.per_hour is not None and self.delivery != "throttle":
            raise _error("per_hour_without_throttle", "'per_hour' only applies to 'delivery: throttle'")
        if self.keywords is not None and self.query is not None:
            raise _error("two_conditions", "a rule has 'keywords' or a 'query', not both")
        if self.keywords is None and self.query is None and not self.entities:
            raise _error("no_condition", "a rule needs 'keywords', a 'query' or 'entities'")
        return self


class _RuleFile(_Model):
    rules: tuple[Rule, ...]

    @field_validator("rules", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value


class RuleList(tuple):
    """A tuple of rules that remembers the entity catalog they were checked against,
    so ``compile_rules(ruleset.rules)`` resolves their entities the same way."""

    entities: EntityCatalog | None

    def __new__(cls, rules=(), entities: EntityCatalog | None = None):
        self = super().__new__(cls, rules)
        self.entities = entities
        return self


@dataclass(frozen=True)
class RuleSet:
    """Every rule loaded from a file or directory, the files they came from, and the
    entity catalog (shipped, plus the folder's ``entities.yaml``)."""

    rules: tuple[Rule, ...]
    files: tuple[str, ...]
    entities: EntityCatalog = field(default_factory=default_entities, compare=False)


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


def _offset_to_line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _locate_in_value(text: str, line: int | None, col: int | None, value: str,
                     offset: int) -> tuple[int | None, int | None]:
    """The file position of ``value[offset]``, for a scalar written at ``line:col``.

    Walks the source from the scalar's start, matching it character by character
    against the parsed value, so quoted, plain and block scalars all work (escapes
    excepted, where the position is approximate).
    """
    if line is None or col is None:
        return line, col
    lines = text.splitlines(keepends=True)
    i = sum(len(x) for x in lines[:line - 1]) + col - 1
    if i < len(text) and text[i] in "|>":
        nl = text.find("\n", i)
        i = len(text) if nl < 0 else nl + 1
    elif i < len(text) and text[i] in "\"'":
        i += 1
    k = 0
    while k < offset and i < len(text):
        if text[i] == value[k]:
            i += 1
            k += 1
        elif value[k] in " \n" and text[i] not in " \t\n":
            k += 1  # folded line break with no counterpart here
        else:
            i += 1  # indentation, line break, quote or escape in the source
    while i < len(text) and k < len(value) and text[i] != value[k] and text[i] in " \t\n":
        i += 1
    return _offset_to_line_col(text, i)


def _query_problems(text: str, doc: YamlDoc, known_entities) -> dict[int, RuleError]:
    """Located errors of every rule query in the raw document, by rule index."""
    items = doc.data.get("rules") if isinstance(doc.data, dict) else None
    if not isinstance(items, list):
        return {}
    out: dict[int, RuleError] = {}
    for i, item in enumerate(items):
        query = item.get("query") if isinstance(item, dict) else None
        if not isinstance(query, str):
            continue
        try:
            node = parse_query(query)
        except QueryError as e:
            pos, message = e.pos, e.reason
        else:
            bad = [a for a in atoms(node) if isinstance(a, EntityRef)
                   and known_entities is not None and known_entities.resolve(a.id) is None]
            if not bad:
                continue
            pos = bad[0].pos + bad[0].text.index(":") + 1
            message = _unknown_entity(bad[0].id, known_entities)
        line, col = _locate_in_value(text, *doc.where(("rules", i, "query")), query, pos)
        out[i] = RuleError(f"query: {message}", path=doc.path, line=line, col=col,
                           field=f"rules.{i}.query")
    return out


def _validate(doc: YamlDoc, text: str, context: dict) -> _RuleFile:
    queries = _query_problems(text, doc, context.get("entities"))
    problems: list[ConfigError] = list(queries.values())
    parsed = None
    try:
        parsed = _RuleFile.model_validate(doc.data, context=context)
    except ValidationError as e:
        skip = {f"rules.{i}.query" for i in queries}
        problems += [p for p in validation_problems(doc, e) if p.field not in skip]
    if problems:
        problems.sort(key=lambda c: (c.line or 0, c.col or 0))
        first = problems[0]
        raise RuleError(first.message, path=first.path, line=first.line, col=first.col,
                        field=first.field, problems=tuple(str(p) for p in problems))
    assert parsed is not None
    return parsed


def _parse_located(text: str, path: str, channels: Collection[str] | None,
                   entities: EntityCatalog | None = None) -> list[_Located]:
    try:
        doc = parse_yaml(text, path)
    except ConfigError as e:
        raise RuleError(e.message, path=e.path, line=e.line, col=e.col, field=e.field) from e
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict):
        line, col = doc.where(())
        raise RuleError("a rule file is a mapping with a 'rules:' list", path=path, line=line, col=col)
    context = {"channels": frozenset(channels) if channels is not None else None,
               "entities": entities}
    parsed = _validate(doc, text, context)
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


def parse_rules(text: str, path: str, *, channels: Collection[str] | None = None,
                entities: EntityCatalog | None = None) -> list[Rule]:
    """Parse the YAML rule file ``text`` (``path`` is only used in messages).

    The file is a mapping with a ``rules:`` list; an empty file or an empty
    list gives ``[]``. When ``channels`` is given, every channel a rule names
    must be one of them; when ``entities`` is given, every entity a rule or
    query names must be in it. Pure: reads nothing but its arguments.

    Raises RuleError, located at ``path:line:col`` with the field, for a YAML
    syntax error, an unknown key, a missing or ill-typed value, a rule with
    neither keywords, query nor entities (or both keywords and a query), a
    rule without ``any``/``all`` terms, a bad term or wildcard, a query syntax
    error (located at the offending character of the query), an unknown
    entity or channel, or a rule name used twice. ``err.problems`` lists
    every validation problem.
    """
    return [loc.rule for loc in _parse_located(text, path, channels, entities)]


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir()
                      if p.suffix in (".yaml", ".yml") and p.name not in RESERVED_FILES
                      and p.is_file())
    if path.exists():
        return [path]
    raise RuleError("no such rule file or directory", path=str(path))


def _read(path: Path) -> str:
    return read_yaml_text(path, what="rule file", error_cls=RuleError)


def catalog_for(path: str | os.PathLike[str]) -> EntityCatalog:
    """The entity catalog for the rules at ``path``: the shipped one, plus (overriding
    it by id) the ``entities.yaml`` of the rule folder, or of a rule file's folder.

    Raises RuleError if that ``entities.yaml`` cannot be read or is invalid.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    catalog = default_entities()
    for name in ENTITY_FILES:
        local = folder / name
        if local.is_file():
            if str(local.resolve()) not in {str(Path(f).resolve()) for f in catalog.files}:
                catalog = catalog.merged(load_entities(local))
            break
    return catalog


def load_rules(path: str | os.PathLike[str], *, channels: Collection[str] | None = None,
               entities: EntityCatalog | None = None) -> RuleSet:
    """Load the rules of one file, or of every ``*.yaml``/``*.yml`` file of a
    directory (not recursive, in name order, skipping the reserved
    ``entities.yaml``), checking entities against ``entities`` (default:
    :func:`catalog_for` ``path``). Reads those files and nothing else.

    Every file is checked even when an earlier one is wrong. Raises RuleError
    if ``path`` does not exist, a file cannot be read, the entity catalog or
    any rule file is invalid (see :func:`parse_rules`) or two files define the
    same rule name (the error names both places); ``err.problems`` holds every
    problem found.
    """
    files = _rule_files(Path(path))
    errors: list[RuleError] = []
    if entities is None:
        try:
            entities = catalog_for(path)
        except RuleError as e:
            errors.append(e)
            entities = default_entities()
    located: list[_Located] = []
    for file in files:
        try:
            located.extend(_parse_located(_read(file), str(file), channels, entities))
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
    return RuleSet(RuleList((loc.rule for loc in located), entities), tuple(str(f) for f in files),
                   entities)


def rule_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, for editors to complete and check rule files."""
    schema = _RuleFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "media-monitor rule file"
    schema["description"] = ("A mapping with a 'rules:' list. Each rule needs 'keywords', a 'query' "
                             "or 'entities'. See rules/README.md.")
    return schema
