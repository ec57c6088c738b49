"""The rule query language: parse a query string into a small syntax tree.

Pure: :func:`parse_query` and :func:`parse_term` compute from their arguments
and touch nothing outside themselves.

Grammar (operators are upper case; anything else is a term)::

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          # juxtaposition is AND
    unary   := "NOT" unary | near
    near    := primary ["NEAR/" n primary]     # both sides terms, phrases or entities
    primary := "(" or ")" | scope* (word | "phrase" | "(" or ")")
    scope   := "title:" | "text:" | "case:" | "entity:"

- ``word``: matched like a document word (case, accents, elisions and
  hyphens ignored); ``Royaume-Uni`` is the two-word phrase "royaume uni".
  A trailing ``*`` makes the last word a prefix: ``ukrain*``.
- ``"exact phrase"``: the words in sequence; may end with ``*``.
- ``title:`` / ``text:`` restrict a term or a parenthesized group to a field.
- ``case:`` makes a term case-sensitive (accents are still ignored):
  ``case:US`` matches "US" but not "us"; ``case:"U.S."`` works too.
- ``entity:nato`` matches any alias of that catalog entity; the entity can
  be named by its id or by any alias (``entity:NATO``, ``entity:"l'OTAN"``).
- ``A NEAR/5 B``: A and B with at most 5 words between them, either order.

Every error is a :class:`QueryError` carrying the 0-based ``pos`` of the
offending character in the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from monitor.core.errors import RuleError
from monitor.core.text import tokenize

__all__ = ["QueryError", "TermPattern", "Term", "EntityRef", "And", "Or", "Not", "Near", "Node",
           "parse_query", "parse_term", "atoms", "positive_atoms", "FIELDS", "SCOPES",
           "MAX_NEAR", "MAX_DEPTH", "WILDCARD", "MIN_PREFIX"]

WILDCARD = "*"
MIN_PREFIX = 2
#: Largest n accepted in ``NEAR/n``.
MAX_NEAR = 100
#: Deepest nesting of parentheses, NOTs and scopes accepted; the parser, the
#: compiler and the evaluator all recurse that deep.
MAX_DEPTH = 32
#: Fields a term can be scoped to.
FIELDS = ("title", "text")
#: Every ``name:`` prefix the language knows.
SCOPES = ("title", "text", "case", "entity")


class QueryError(RuleError):
    """A query does not parse; ``pos`` is the 0-based offset of the culprit in ``query``."""

    def __init__(self, message: str, *, pos: int, query: str = ""):
        self.pos, self.query, self.reason = pos, query, message
        super().__init__(f"{message} (column {pos + 1} of the query)")


@dataclass(frozen=True)
class TermPattern:
    """A term compiled for matching: folded words, the last one a prefix if ``prefix``."""

    words: tuple[str, ...]
    prefix: bool = False


def parse_term(term: str) -> TermPattern:
    """Compile a term into the word sequence it matches.

    The term is tokenized like a document (see :func:`monitor.core.text.tokenize`);
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


@dataclass(frozen=True)
class Term:
    """A word, phrase or prefix. ``text`` is the term as written (scopes included)."""

    pattern: TermPattern
    text: str
    pos: int = 0
    field: str | None = None  # None: title and text
    case: bool = False  # case-sensitive
    body: str = ""  # the words as written, without scopes, quotes or '*' (for case checks)


@dataclass(frozen=True)
class EntityRef:
    """``entity:<id or alias>``: any alias of a catalog entity (``id`` as written)."""

    id: str
    text: str
    pos: int = 0
    field: str | None = None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Near:
    left: Term | EntityRef
    right: Term | EntityRef
    distance: int


Node = Union[Term, EntityRef, And, Or, Not, Near]

# Lexer ---------------------------------------------------------------------------------

_NEAR = re.compile(r"NEAR/(\d+)")
_SPECIAL = '()"'
_OPS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, phrase, lparen, rparen, and, or, not, near, scope, end
    value: str
    pos: int
    end: int
    n: int = 0


def _lex(q: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c == "(":
            out.append(_Tok("lparen", c, i, i + 1))
            i += 1
        elif c == ")":
            out.append(_Tok("rparen", c, i, i + 1))
            i += 1
        elif c in "\"\u201c\u201d\u00ab\u00bb":
            close = {"\u201c": "\u201d", "\u00ab": "\u00bb"}.get(c, c if c == '"' else '"')
            j = q.find(close, i + 1)
            if c in "\u201d\u00bb":
                raise QueryError("a phrase cannot start with a closing quote", pos=i, query=q)
            if j < 0:
                raise QueryError("unterminated phrase: missing closing quote", pos=i, query=q)
            out.append(_Tok("phrase", q[i + 1:j], i, j + 1))
            i = j + 1
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] not in _SPECIAL:
                j += 1
            word = q[i:j]
            head, colon, rest = word.partition(":")
            if colon and head.isalpha():
                if head not in SCOPES:
                    raise QueryError(f"unknown field {head + ':'!r} (known: "
                                     + ", ".join(s + ":" for s in SCOPES) + ")", pos=i, query=q)
                out.append(_Tok("scope", head, i, i + len(head) + 1))
                i += len(head) + 1
                continue
            m = _NEAR.fullmatch(word)
            if m:
                out.append(_Tok("near", word, i, j, int(m.group(1))))
            elif word.startswith("NEAR/") or word == "NEAR":
                raise QueryError("NEAR needs a distance, like NEAR/5", pos=i, query=q)
            elif word in _OPS:
                out.append(_Tok(word.lower(), word, i, j))
            else:
                out.append(_Tok("word", word, i, j))
            i = j
    out.append(_Tok("end", "", n, n))
    return out


# Parser --------------------------------------------------------------------------------

class _Parser:
    def __init__(self, q: str):
        self.q = q
        self.toks = _lex(q)
        self.i = 0
        self.depth = 0

    def deeper(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels (parentheses, NOT and scopes)", tok.pos)

    def error(self, message: str, pos: int) -> QueryError:
        return QueryError(message, pos=pos, query=self.q)

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("the query is empty", 0)
        node = self.or_()
        if self.tok.kind == "rparen":
            raise self.error("unbalanced ')'", self.tok.pos)
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.value!r}", self.tok.pos)
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.tok.kind == "or":
            op = self.take()
            if self.tok.kind in ("end", "rparen", "or", "and", "near"):
                raise self.error("OR needs a term on its right", op.pos)
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.unary()]
        while True:
            if self.tok.kind == "and":
                op = self.take()
                if self.tok.kind in ("end", "rparen", "or", "and", "near"):
                    raise self.error("AND needs a term on its right", op.pos)
            elif self.tok.kind not in ("word", "phrase", "lparen", "not", "scope"):
                break
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        if self.tok.kind == "not":
            op = self.take()
            if self.tok.kind in ("end", "rparen", "or", "and", "near"):
                raise self.error("NOT needs a term on its right", op.pos)
            self.deeper(op)
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.near()

    def near(self) -> Node:
        start = self.tok.pos
        left = self.primary()
        if self.tok.kind != "near":
            return left
        op = self.take()
        if not isinstance(left, (Term, EntityRef)):
            raise self.error("NEAR joins two terms, phrases or entities", start)
        if op.n > MAX_NEAR:
            raise self.error(f"NEAR distance is at most {MAX_NEAR}", op.pos)
        if self.tok.kind in ("end", "rparen", "or", "and", "near"):
            raise self.error("NEAR needs a term on its right", op.pos)
        rstart = self.tok.pos
        right = self.primary()
        if not isinstance(right, (Term, EntityRef)):
            raise self.error("NEAR joins two terms, phrases or entities", rstart)
        if self.tok.kind == "near":
            raise self.error("NEAR joins two terms; combine several NEAR with AND", self.tok.pos)
        return Near(left, right, op.n)

    def primary(self, field: str | None = None, case: bool = False, entity: bool = False,
                start: int | None = None) -> Node:
        tok = self.tok
        start = tok.pos if start is None else start
        if tok.kind == "scope":
            self.take()
            if tok.value in FIELDS:
                if field is not None:
                    raise self.error("a term has one field scope", tok.pos)
                field = tok.value
            elif tok.value == "case":
                case = True
            else:
                entity = True
            if self.tok.kind not in ("word", "phrase", "lparen", "scope") or self.tok.pos != tok.end:
                raise self.error(f"'{tok.value}:' must be directly followed by a term", tok.pos)
            self.deeper(tok)
            node = self.primary(field, case, entity, start)
            self.depth -= 1
            return node
        if tok.kind == "lparen":
            if entity:
                raise self.error("'entity:' takes an entity id, not a group", tok.pos)
            self.take()
            if self.tok.kind == "rparen":
                raise self.error("empty parentheses", tok.pos)
            self.deeper(tok)
            inner = self.or_()
            if self.tok.kind != "rparen":
                raise self.error("missing ')'", tok.pos)
            self.take()
            self.depth -= 1
            return _scoped(inner, field, case)
        if tok.kind in ("word", "phrase"):
            self.take()
            text = self.q[start:tok.end]
            if entity:
                if case:
                    raise self.error("'case:' does not apply to entities", start)
                name = tok.value.strip()
                if not name:
                    raise self.error("'entity:' needs an entity id or name", tok.pos)
                return EntityRef(name, text, start, field)
            body = tok.value
            try:
                pattern = parse_term(body)
            except ValueError as e:
                raise self.error(str(e), tok.pos) from None
            return Term(pattern, text, start, field, case, body.strip().rstrip(WILDCARD))
        if tok.kind == "end":
            raise self.error("the query ends where a term was expected", tok.pos)
        raise self.error(f"expected a term, found {tok.value!r}", tok.pos)


def _scoped(node: Node, field: str | None, case: bool) -> Node:
    if field is None and not case:
        return node
    if isinstance(node, Term):
        return Term(node.pattern, node.text, node.pos, node.field or field, node.case or case, node.body)
    if isinstance(node, EntityRef):
        return EntityRef(node.id, node.text, node.pos, node.field or field)
    if isinstance(node, Not):
        return Not(_scoped(node.item, field, case))
    if isinstance(node, Near):
        return Near(_scoped(node.left, field, case), _scoped(node.right, field, case), node.distance)
    return type(node)(tuple(_scoped(n, field, case) for n in node.items))


def parse_query(query: str) -> Node:
    """Parse ``query`` into a tree of :class:`Term`, :class:`EntityRef`, :class:`And`,
    :class:`Or`, :class:`Not` and :class:`Near`. Pure.

    Raises QueryError (a RuleError and ValueError) with the 0-based ``pos`` of
    the offending character for a syntax error, a bad term or wildcard, or a
    query whose every term is negated.
    """
    if not isinstance(query, str):
        raise TypeError("a query is a string")
    node = _Parser(query).parse()
    if not positive_atoms(node):
        raise QueryError("a query needs at least one term that is not negated", pos=0, query=query)
    return node


def atoms(node: Node) -> list[Term | EntityRef]:
    """Every term and entity of ``node``, in query order."""
    if isinstance(node, (Term, EntityRef)):
        return [node]
    if isinstance(node, Not):
        return atoms(node.item)
    if isinstance(node, Near):
        return [node.left, node.right]
    return [a for n in node.items for a in atoms(n)]


def positive_atoms(node: Node, negated: bool = False) -> list[Term | EntityRef]:
    """The terms and entities of ``node`` that are not under a NOT."""
    if isinstance(node, (Term, EntityRef)):
        return [] if negated else [node]
    if isinstance(node, Not):
        return positive_atoms(node.item, not negated)
    if isinstance(node, Near):
        return [] if negated else [node.left, node.right]
    return [a for n in node.items for a in positive_atoms(n, negated)]
