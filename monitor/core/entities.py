"""The entity catalog: people, places and organizations, with their names in every language.

:func:`parse_entities` and :func:`entity_terms` are pure (lemmatization reads
simplemma's packaged dictionaries, which never change); :func:`load_entities`
reads the one catalog file it is given. See ``rules/README.md`` for the format.

An entity has an ``id`` (used as ``entity:nato`` in a query or
``entities: [nato]`` on a rule), a ``type`` (ORG, LOC, PER, ...), ``aliases``
per language, ``forms`` derived from it (adjectives, demonyms), ``exact``
aliases that only match with the same case ("US" is not "us"), and
``exclude`` contexts that say where an alias means something else ("poutine"
near "frites" is a dish, "montagnes russes" is a roller coaster). Single-word
aliases and forms are expanded with their inflections in their language
(simplemma), so "russe" also matches "russes".
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from monitor.core.errors import ConfigError, RuleError
from monitor.core.query import MIN_PREFIX, TermPattern, parse_term
from monitor.core.text import tokenize
from monitor.core.yamlfile import parse_yaml, read_yaml_text, validate

__all__ = ["Entity", "Exclusion", "EntityCatalog", "EntityTerm", "parse_entities", "load_entities",
           "entity_terms", "default_entities", "DEFAULT_CATALOG", "TYPES"]

#: The catalog shipped with media-monitor (also the one in the shipped rules folder).
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "rules" / "entities.yaml"

#: Entity types (the names spaCy uses, so a model's labels can be compared).
TYPES = ("PER", "ORG", "LOC", "GPE", "NORP", "EVENT", "MISC")


def _error(kind: str, message: str) -> PydanticCustomError:
    # A custom error keeps pydantic from prefixing "Value error, " to the message.
    return PydanticCustomError(kind, "{message}", {"message": message})


def _check_term(value: str) -> str:
    try:
        parse_term(value)
    except ValueError as e:
        raise _error("bad_term", f"term {value!r}: {e}") from None
    return value


def _check_lang(value: str) -> str:
    if not (value.isascii() and value.isalpha() and 2 <= len(value) <= 3):
        raise _error("bad_language", f"{value!r} is not a language code like 'fr'")
    return value.lower()


Id = Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Term = Annotated[str, Field(strict=True), AfterValidator(_check_term)]
Lang = Annotated[str, Field(strict=True), AfterValidator(_check_lang)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exclusion(_Model):
    """A context where the entity's aliases mean something else.

    ``near``: none of these terms may occur within ``within`` words of the
    alias; ``phrase``: the alias is not inside this phrase. ``aliases``
    limits the exclusion to some aliases (as written); default: all.
    """

    near: tuple[Term, ...] = ()
    within: int = Field(8, ge=0, le=100, strict=True)
    phrase: tuple[Term, ...] = ()
    aliases: tuple[Term, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _one_phrase(cls, data):
        if isinstance(data, dict) and isinstance(data.get("phrase"), str):
            data = {**data, "phrase": [data["phrase"]]}
        return data

    @model_validator(mode="after")
    def _something(self) -> Exclusion:
        if not self.near and not self.phrase:
            raise _error("empty_exclusion", "an exclusion needs 'near' terms or a 'phrase'")
        return self


class Entity(_Model):
    """One catalog entry. Immutable and hashable."""

    id: Id
    type: str = Field("MISC", strict=True)
    description: str = Field("", strict=True)
    aliases: Mapping[Lang, tuple[Term, ...]] = Field(default_factory=dict)
    forms: Mapping[Lang, tuple[Term, ...]] = Field(default_factory=dict)
    exact: tuple[Term, ...] = ()
    exclude: tuple[Exclusion, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Entity:
        if self.type not in TYPES:
            raise _error("bad_type", f"type {self.type!r} is not one of {', '.join(TYPES)}")
        if not any(self.aliases.values()) and not self.exact:
            raise _error("no_alias", f"entity {self.id!r} needs at least one alias")
        return self

    def __hash__(self) -> int:
        return hash((self.id, self.type))


class _CatalogFile(_Model):
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True)
class EntityCatalog:
    """Entities by id; ``files`` are where they were read from."""

    entities: tuple[Entity, ...] = ()
    files: tuple[str, ...] = ()

    @functools.cached_property
    def by_id(self) -> dict[str, Entity]:
        return {e.id: e for e in self.entities}

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self.by_id

    def __getitem__(self, entity_id: str) -> Entity:
        return self.by_id[entity_id]

    @functools.cached_property
    def _by_alias(self) -> dict[TermPattern, str]:
        out: dict[TermPattern, str] = {}
        for e in self.entities:
            for names in (*e.aliases.values(), e.exact):
                for name in names:
                    out.setdefault(parse_term(name), e.id)
        return out

    def resolve(self, name: str) -> str | None:
        """The id of the entity called ``name``: an id, or any alias (case and accents
        ignored: "NATO", "l'OTAN" and "nato" all give "nato"); None if unknown."""
        if name in self.by_id:
            return name
        try:
            return self._by_alias.get(parse_term(name))
        except ValueError:
            return None

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self.by_id)

    def merged(self, other: EntityCatalog) -> EntityCatalog:
        """This catalog with ``other``'s entities added; same id: ``other`` wins."""
        by_id = dict(self.by_id)
        by_id.update(other.by_id)
        return EntityCatalog(tuple(by_id.values()), tuple(dict.fromkeys(self.files + other.files)))


def parse_entities(text: str, path: str) -> EntityCatalog:
    """Parse an entity catalog (a mapping with an ``entities:`` list). Pure.

    Raises RuleError located at ``path:line:col`` for a YAML error, an unknown
    key, a bad alias or language, an unknown type, or an id used twice.
    """
    try:
        doc = parse_yaml(text, path)
    except ConfigError as e:
        raise RuleError(e.message, path=e.path, line=e.line, col=e.col, field=e.field) from e
    if doc.data is None:
        return EntityCatalog((), (path,))
    if not isinstance(doc.data, dict):
        line, col = doc.where(())
        raise RuleError("an entity catalog is a mapping with an 'entities:' list", path=path,
                        line=line, col=col)
    parsed = validate(_CatalogFile, doc, error_cls=RuleError)
    seen: set[str] = set()
    for i, ent in enumerate(parsed.entities):
        if ent.id in seen:
            line, col = doc.where(("entities", i, "id"))
            raise RuleError(f"duplicate entity id {ent.id!r}", path=path, line=line, col=col,
                            field=f"entities.{i}.id")
        seen.add(ent.id)
    return EntityCatalog(parsed.entities, (path,))


def load_entities(path: str | os.PathLike[str]) -> EntityCatalog:
    """Read and parse one catalog file. Raises RuleError if it cannot be read or is invalid."""
    p = Path(path)
    text = read_yaml_text(p, what="entity catalog", error_cls=RuleError)
    return parse_entities(text, str(p))


@functools.lru_cache(maxsize=4)
def default_entities() -> EntityCatalog:
    """The shipped catalog, or an empty one if it is not installed."""
    if DEFAULT_CATALOG.is_file():
        return load_entities(DEFAULT_CATALOG)
    return EntityCatalog()


# Compiling an entity into terms ----------------------------------------------------------

@dataclass(frozen=True)
class EntityTerm:
    """One way to write an entity: the words matched, and how."""

    pattern: TermPattern
    case: bool  # case-sensitive (an ``exact`` alias)
    body: str  # as written, for case checks
    alias: str  # the alias or form it comes from
    exclusions: tuple[int, ...]  # indices into the entity's ``exclude`` that apply


#: Languages whose inflections are added from simplemma's dictionaries (others are larger
#: and slower to load; list their forms in the catalog).
INFLECTED_LANGUAGES = frozenset({"fr", "en", "es", "it", "pt"})


@functools.lru_cache(maxsize=16)
def _inflections(lang: str, lemmas: frozenset[str]) -> dict[str, frozenset[str]]:
    """Every word form simplemma knows for each lemma (case-folded), in ``lang``."""
    try:
        from simplemma.strategies.dictionaries import DefaultDictionaryFactory

        table = DefaultDictionaryFactory().get_dictionary(lang)
    except Exception:  # an unsupported language: no inflections
        return {}
    out: dict[str, set[str]] = {}
    for form, lemma in table.items():
        key = lemma.casefold() if isinstance(lemma, str) else lemma.decode().casefold()
        if key in lemmas:
            out.setdefault(key, set()).add(form)
    return {k: frozenset(v) for k, v in out.items()}


def _lemma(word: str, lang: str) -> str:
    try:
        import simplemma

        return simplemma.lemmatize(word, lang=lang).casefold()
    except Exception:
        return word.casefold()


def _singles(entity: Entity) -> list[tuple[str, str]]:
    """(language, word) of the single-word aliases and forms worth inflecting."""
    out = []
    for group in (entity.aliases, entity.forms):
        for lang, names in group.items():
            if lang not in INFLECTED_LANGUAGES:
                continue
            for name in names:
                pat = parse_term(name)
                if len(pat.words) == 1 and not pat.prefix and len(pat.words[0]) > MIN_PREFIX + 1:
                    out.append((lang, name.strip()))
    return out


@functools.lru_cache(maxsize=8)
def _catalog_inflections(entities: tuple[Entity, ...]) -> dict[tuple[str, str], frozenset[str]]:
    """Folded inflected forms of every (language, word) of ``entities``: one scan per language."""
    by_lang: dict[str, dict[str, list[str]]] = {}
    for ent in entities:
        for lang, word in _singles(ent):
            by_lang.setdefault(lang, {}).setdefault(_lemma(word, lang), []).append(word)
    out: dict[tuple[str, str], frozenset[str]] = {}
    for lang, lemmas in by_lang.items():
        table = _inflections(lang, frozenset(lemmas))
        for lemma, originals in lemmas.items():
            for word in originals:
                norm = tokenize(word)[0].norm
                forms = set()
                for form in table.get(lemma, ()):
                    toks = tokenize(form)
                    # Same first letters: no suppletive forms ("est" is not a form of "être" here).
                    if len(toks) == 1 and toks[0].norm[:3] == norm[:3]:
                        forms.add(toks[0].norm)
                out[(lang, word)] = frozenset(forms)
    return out


@functools.lru_cache(maxsize=1024)
def entity_terms(entity: Entity, catalog: EntityCatalog | None = None) -> tuple[EntityTerm, ...]:
    """Every term that names ``entity``: aliases, derived forms and their inflections
    (looked up once for the whole ``catalog``, default: the entity alone), and
    case-sensitive ``exact`` aliases. Pure (cached)."""
    def applies(alias: str) -> tuple[int, ...]:
        pat = parse_term(alias)
        return tuple(i for i, ex in enumerate(entity.exclude)
                     if not ex.aliases or pat in {parse_term(a) for a in ex.aliases})

    terms: dict[tuple[TermPattern, bool, str], EntityTerm] = {}

    def add(pattern: TermPattern, case: bool, body: str, alias: str) -> None:
        terms.setdefault((pattern, case, body if case else ""),
                         EntityTerm(pattern, case, body, alias, applies(alias)))

    for group in (entity.aliases, entity.forms):
        for names in group.values():
            for name in names:
                add(parse_term(name), False, name, name)
    for name in entity.exact:
        add(parse_term(name), True, name.strip().rstrip("*"), name)
    inflections = _catalog_inflections(catalog.entities if catalog is not None else (entity,))
    for lang, name in _singles(entity):
        for form in sorted(inflections.get((lang, name), ())):
            add(TermPattern((form,)), False, form, name)
    return tuple(terms.values())
