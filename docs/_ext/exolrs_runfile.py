"""The run-file reference, generated at build time from the run file's pydantic schema.

``.. exolrs-runfile-reference::`` writes one table per section of the run file (every key,
its type and allowed range, its default and its meaning) and then the annotated template
that ``exolrs init-config`` writes.  The defaults and meanings are read from that template
(``exolrs.config.template``), the types and ranges from the models themselves, so the page,
the template and the validation share one source: ``src/exolrs/config.py``.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from pydantic import BaseModel
from sphinx.util.docutils import SphinxDirective

from exolrs.config import RunConfig, template

_LINE = re.compile(r"^(?P<pad>(?:  )*)(?P<key>\w+):(?P<value>.*?)(?:  # (?P<doc>.*))?$")


def template_entries(text: str | None = None) -> dict[tuple[str, ...], tuple[str, str]]:
    """(value as the template prints it, meaning) of every key path of `exolrs init-config`."""
    entries: dict[tuple[str, ...], tuple[str, str]] = {}
    stack: list[str] = []
    for line in (text if text is not None else template()).splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        depth = len(m["pad"]) // 2
        stack[depth:] = [m["key"]]
        entries[tuple(stack)] = (m["value"].strip(), (m["doc"] or "").strip())
    return entries


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def type_name(annotation) -> str:
    """A reader's name for a type: ``int``, ``list[float] | null``, ``"box" | "optimal"``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Literal:
        return " | ".join(f'"{a}"' for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is list:
        inner = type_name(args[0]) if args else "any"
        return f"list[{inner}]"
    if origin is dict:
        return f"mapping {type_name(args[0])} → {type_name(args[1])}"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def constraints(field) -> str:
    """The field's range (``≥ 1``, ``> 0``, ``2 items``)."""
    parts = []
    symbols = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    lengths = {}
    for meta in field.metadata:
        for attr, symbol in symbols.items():
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
        for attr in ("min_length", "max_length"):
            value = getattr(meta, attr, None)
            if value is not None:
                lengths[attr] = value
    if lengths:
        lo, hi = lengths.get("min_length"), lengths.get("max_length")
        parts.append(f"{lo} items" if lo == hi else f"{lo or 0}–{hi or '∞'} items")
    return ", ".join(parts)


def reference_rows(model: type[BaseModel] = RunConfig, prefix: tuple[str, ...] = ()):
    """(section, [(key, type, default, meaning), …]) for the run file, section by section."""
    entries = template_entries()
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    rows: list[tuple[str, str, str, str]] = []
    sections.append((".".join(prefix) or "top level", rows))
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        if path not in entries:
            raise ValueError(f"run-file key {'.'.join(path)} is missing from the template")
        value, doc = entries[path]
        if _is_model(field.annotation):
            sections.extend(reference_rows(field.annotation, path))
            continue
        kind = type_name(field.annotation)
        if rng := constraints(field):
            kind = f"{kind} ({rng})"
        default = "required" if field.is_required() else value
        rows.append((name, kind, default, doc or field.description or ""))
    return [s for s in sections if s[1]]


def _literal(text: str) -> str:
    text = text.replace("`", "'")
    return f"``{text}``" if text else ""


class RunFileReference(SphinxDirective):
    """Tables of every run-file key and the annotated template, from ``exolrs.config``."""

    has_content = False

    def run(self):
        lines: list[str] = []
        for section, rows in reference_rows():
            title = "Top-level keys" if section == "top level" else f"``{section}:``"
            lines += [
                f".. rubric:: {title}",
                "",
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 18 22 20 40",
                "",
                "   * - key",
                "     - type",
                "     - default",
                "     - meaning",
            ]
            for key, kind, default, doc in rows:
                lines += [
                    f"   * - ``{key}``",
                    f"     - {_literal(kind)}",
                    f"     - {_literal(default)}",
                    f"     - {doc}",
                ]
            lines.append("")
        lines += [
            ".. rubric:: The template",
            "",
            "What ``exolrs init-config exolrs.yaml`` writes, generated from the same schema:",
            "",
            ".. code-block:: yaml",
            "",
        ]
        lines += [f"   {line}" if line else "" for line in template().splitlines()]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="exolrs.config"), 0, container)
        return container.children


def setup(app):
    app.add_directive("exolrs-runfile-reference", RunFileReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
