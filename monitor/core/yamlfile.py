"""Safe YAML loading that remembers where every value was written.

Pure: parses text it is given, touches nothing else (but :func:`read_yaml_text`,
which reads one file). Validation errors from pydantic come back as
:class:`~monitor.core.errors.ConfigError` pointing at ``file:line:col`` of the
offending value (or key, for unknown keys).

Every file we read may come from a stranger (a shared rule pack, a pasted rule),
so the loader refuses what costs more than the text's size: anchors and
aliases (a few hundred bytes of nested aliases expand to gigabytes), nesting
deeper than :data:`MAX_DEPTH`, and integers longer than :data:`MAX_INT_CHARS`.
Duplicate keys are refused too: the second silently won.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from monitor.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[Any, ...]

#: Deepest nesting of lists and mappings accepted; our files need four or five levels.
MAX_DEPTH = 64
#: Largest YAML file read (a feeds file of 100,000 feeds is about 10 MB): parsing holds
#: about 65 times the text in memory, positions included.
MAX_FILE_BYTES = 16 << 20
#: Longest integer literal accepted; Python refuses past 4,300 digits, and base-60
#: literals ("1:2:3...") cost quadratic time in their length.
MAX_INT_CHARS = 64


@dataclass(frozen=True)
class YamlDoc:
    """Parsed YAML data and the (line, col) of every value and mapping key, 1-based."""

    path: str
    data: Any
    values: dict[Loc, tuple[int, int]]
    keys: dict[Loc, tuple[int, int]]

    def where(self, loc: Loc, *, key: bool = False) -> tuple[int | None, int | None]:
        """The position of ``loc``, or of its nearest enclosing value that has one."""
        loc = tuple(loc)
        if key and loc in self.keys:
            return self.keys[loc]
        while loc:
            if loc in self.values:
                return self.values[loc]
            loc = loc[:-1]
        return self.values.get((), (None, None))


def _walk(node: yaml.Node, loc: Loc, values: dict, keys: dict, path: str) -> None:
    # Recursion is bounded: the event check refused anything deeper than MAX_DEPTH.
    values[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            k = knode.value
            where = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            if isinstance(knode, yaml.ScalarNode):
                if loc + (k,) in keys:
                    first = keys[loc + (k,)]
                    raise ConfigError(f"duplicate key {k!r} (first at line {first[0]})", path=path,
                                      line=where[0], col=where[1])
                keys[loc + (k,)] = where
            _walk(vnode, loc + (k,), values, keys, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, loc + (i,), values, keys, path)


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    if len(node.value) > MAX_INT_CHARS:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {len(node.value):,} characters (at most {MAX_INT_CHARS})",
            node.start_mark)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


def _refuse_costly(text: str, loader_cls, path: str) -> None:
    """Raise ConfigError at the first anchor, alias or nesting past MAX_DEPTH.

    Reads the event stream, in memory bounded by the text: the node tree an
    alias bomb builds is small, but anything walking it (or building data from
    it) expands every alias."""
    loader = loader_cls(text)
    depth = 0
    try:
        while loader.check_event():
            ev = loader.get_event()
            mark = ev.start_mark
            if isinstance(ev, yaml.AliasEvent):
                problem = f"aliases (*{ev.anchor}) are not allowed; write the value out"
            elif getattr(ev, "anchor", None) is not None:
                problem = f"anchors (&{ev.anchor}) are not allowed; write the value out"
            elif isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth <= MAX_DEPTH:
                    continue
                problem = f"nested deeper than {MAX_DEPTH} levels"
            else:
                if isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                    depth -= 1
                continue
            raise ConfigError(problem, path=path, line=mark.line + 1 if mark else None,
                              col=mark.column + 1 if mark else None)
    finally:
        loader.dispose()


class _SafeLoader(yaml.SafeLoader):
    pass


_SafeLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
# libyaml's safe loader when PyYAML has it: the feeds file is read again on every
# change, and a large one is slow to parse in pure Python.
_FAST_LOADER = None
if hasattr(yaml, "CSafeLoader"):
    class _FastLoader(yaml.CSafeLoader):
        pass

    _FastLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
    _FAST_LOADER = _FastLoader


def _compose_and_construct(text: str, loader_cls) -> tuple[yaml.Node | None, Any]:
    # One parse: the node tree (for positions) and the data built from it.
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def parse_yaml(text: str, path: str) -> YamlDoc:
    """Parse ``text`` with the safe loader.

    Raises ConfigError, located at ``path:line:col`` where it can be, for a syntax
    error, an anchor or alias, nesting deeper than MAX_DEPTH, an integer longer
    than MAX_INT_CHARS, a duplicate key, or anything else the loader raises.
    """
    try:
        try:
            _refuse_costly(text, _FAST_LOADER or _SafeLoader, path)
            node, data = _compose_and_construct(text, _FAST_LOADER or _SafeLoader)
        except yaml.YAMLError:
            if _FAST_LOADER is None:
                raise
            # The pure-Python parser words its errors (and places them) as users
            # have seen them so far.
            _refuse_costly(text, _SafeLoader, path)
            node, data = _compose_and_construct(text, _SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = " ".join(str(p) for p in (e.context, e.problem) if p) or "invalid YAML"
        kind = "YAML error" if isinstance(e, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ConfigError(
            f"{kind}: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            col=mark.column + 1 if mark else None,
        ) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {_one_line(e)}", path=path) from e
    except ConfigError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as e:
        # What a constructor may raise on input it was never meant to get.
        raise ConfigError(f"unreadable YAML: {type(e).__name__}: {_one_line(e)}", path=path) from e
    values: dict = {}
    keys: dict = {}
    if node is not None:
        _walk(node, (), values, keys, path)
    return YamlDoc(path, data, values, keys)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]


def read_yaml_text(path: str | Path, *, what: str = "file", error_cls: type[ConfigError] = ConfigError) -> str:
    """The text of the YAML file ``path``, which must be UTF-8.

    Raises ``error_cls`` when it cannot be read, is over MAX_FILE_BYTES, or at the
    ``line:col`` of the first byte that is not UTF-8.
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise error_cls(f"cannot read {what}: {e.strerror or e}", path=str(p)) from e
    if len(raw) > MAX_FILE_BYTES:
        raise error_cls(f"the {what} is over {MAX_FILE_BYTES >> 20} MB, the most media-monitor reads",
                        path=str(p))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise error_cls(f"not UTF-8 text (byte 0x{raw[e.start]:02x}: {e.reason}); save the {what} as UTF-8",
                        path=str(p), line=line, col=col) from None


def _field_name(loc: Loc) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def validation_problems(doc: YamlDoc, err: ValidationError, *, prefix: Loc = ()) -> list[ConfigError]:
    """Turn pydantic errors into located ConfigErrors, in file order."""
    out = []
    for e in err.errors(include_url=False):
        loc = prefix + tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        extra = e["type"] == "extra_forbidden"
        line, col = doc.where(loc, key=extra)
        msg = "unknown key" if extra else e["msg"]
        out.append(ConfigError(msg, path=doc.path, line=line, col=col, field=_field_name(loc)))
    out.sort(key=lambda c: (c.line or 0, c.col or 0))
    return out


def validate(model: type[M], doc: YamlDoc, data: Any = None, *, prefix: Loc = (),
             error_cls: type[ConfigError] = ConfigError, context: dict | None = None) -> M:
    """Validate ``data`` (default: the whole document) against ``model``.

    Raises ``error_cls`` carrying every problem, the first one as its message.
    """
    if data is None:
        data = doc.data if doc.data is not None else {}
    try:
        return model.model_validate(data, context=context)
    except ValidationError as e:
        problems = validation_problems(doc, e, prefix=prefix)
        first = problems[0]
        raise error_cls(first.message, path=first.path, line=first.line, col=first.col,
                        field=first.field, problems=tuple(str(p) for p in problems)) from None
