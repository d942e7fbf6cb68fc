"""Where each object of an imported schema is written: `sql/<schema>/NN_<what>.sql`.

Files are numbered in the order a reader meets the objects (schema, functions, types,
tables, views, aggregates, jobs); an object that depends on one written in a later file
of its schema moves to that file, after it, so each schema's files run top to bottom.
Functions come before types: a function that takes a type is known to depend on it (and
moves after it), while a domain's CHECK calling a function is not.
"""

from __future__ import annotations

from pathlib import Path

from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import (
    GLOBAL_KINDS,
    GLOBAL_SCHEMA,
    ObjectKey,
    ObjectKind,
    SchemaObject,
)
from platform_assets.parse.statements import ANNOTATION_PREFIX

# The files of a schema, in reading order, and the kinds each one holds by default.
FILES: tuple[tuple[str, frozenset[ObjectKind]], ...] = (
    ("00_schema", frozenset({ObjectKind.SCHEMA, ObjectKind.EXTENSION})),
    (
        "10_functions",
        frozenset(
            {
                ObjectKind.FUNCTION,
                ObjectKind.AGGREGATE,
                ObjectKind.OPERATOR,
                ObjectKind.OPERATOR_CLASS,
                ObjectKind.OPERATOR_FAMILY,
                ObjectKind.CAST,
            }
        ),
    ),
    (
        "20_types",
        frozenset(
            {
                ObjectKind.TYPE,
                ObjectKind.DOMAIN,
                ObjectKind.COLLATION,
                ObjectKind.CONVERSION,
                ObjectKind.TEXT_SEARCH_CONFIGURATION,
                ObjectKind.TEXT_SEARCH_DICTIONARY,
                ObjectKind.TEXT_SEARCH_PARSER,
                ObjectKind.TEXT_SEARCH_TEMPLATE,
            }
        ),
    ),
    ("40_views", frozenset({ObjectKind.VIEW, ObjectKind.MATERIALIZED_VIEW})),
    (
        "50_aggregates",
        frozenset({ObjectKind.CONTINUOUS_AGGREGATE, ObjectKind.REFRESH_POLICY}),
    ),
    ("60_jobs", frozenset({ObjectKind.JOB})),
)
# Everything else (tables, sequences, indexes, triggers, policies, hypertables...).
TABLES = "30_tables"
ORDER = [name for name, _ in FILES[:3]] + [TABLES] + [name for name, _ in FILES[3:]]


def file_of_kind(kind: ObjectKind) -> str:
    return next((name for name, kinds in FILES if kind in kinds), TABLES)


def directory_of(obj: SchemaObject) -> str:
    """The schema directory: its own schema, `platform` for objects of the whole database."""
    if obj.kind == ObjectKind.EXTENSION or obj.kind in GLOBAL_KINDS:
        return GLOBAL_SCHEMA
    return obj.schema


def project_files(
    graph: SchemaGraph, header: str, annotations: dict[ObjectKey, str] | None = None
) -> dict[Path, str]:
    """The text of every file, keyed by its path under `sql/`, each opening with `header`;
    an object in `annotations` gets that `-- platform:` annotation above it."""
    annotations = annotations or {}
    placed: dict[tuple[str, ...], tuple[str, str]] = {}
    contents: dict[tuple[str, str], list[tuple[SchemaObject, str]]] = {}
    for obj in graph:  # dependency order: what an object needs is placed before it
        if obj.kind == ObjectKind.SCHEMA and obj.name == "public":
            continue  # every database has it
        directory = directory_of(obj)
        rank = ORDER.index(file_of_kind(obj.kind))
        for dependency in obj.depends_on:
            if dependency in placed and placed[dependency][0] == directory:
                rank = max(rank, ORDER.index(placed[dependency][1]))
        place = (directory, ORDER[rank])
        placed[obj.key] = place
        text = object_text(obj)
        if obj.key in annotations:
            text = f"-- {ANNOTATION_PREFIX} {annotations[obj.key]}\n{text}"
        contents.setdefault(place, []).append((obj, text))
    return {
        Path(directory) / f"{name}.sql": header + "\n" + "\n\n".join(_grouped(entries)) + "\n"
        for (directory, name), entries in sorted(contents.items())
    }


def _grouped(entries: list[tuple[SchemaObject, str]]) -> list[str]:
    """Each relation's indexes, triggers and policies right after it, when it is in the
    same file (their dependency order kept)."""
    groups: dict[ObjectKey, list[str]] = {}
    for obj, text in entries:
        owner = (obj.schema, obj.relation) if obj.relation else None
        if owner in groups:
            groups[owner].append(text)
        else:
            groups.setdefault(obj.key, []).append(text)
    return [text for texts in groups.values() for text in texts]


def object_text(obj: SchemaObject) -> str:
    """The object's statements as the database gave them, one after the other."""
    return "\n".join(statement.text.strip() + ";" for statement in obj.statements)
