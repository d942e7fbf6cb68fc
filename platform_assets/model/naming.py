"""The names PostgreSQL gives objects declared without one (indexes, constraints), and
any name as a part of a Dagster name.

The rules of PostgreSQL's `makeObjectName` and `ChooseRelationName`
(src/backend/commands/indexcmds.c): `<table>_<columns>_<label>`, the longer of
the two parts shortened first so the whole fits in 63 bytes, and a number added
to the label while the name is taken.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection, Sequence

NAME_BYTES = 63  # NAMEDATALEN - 1


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """`name1_name2_label`, each part clipped (on character boundaries) to fit 63 bytes."""
    overhead = (1 if name2 else 0) + (len(label.encode()) + 1 if label else 0)
    available = NAME_BYTES - overhead
    first, second = len(name1.encode()), len((name2 or "").encode())
    while first + second > available:
        if first > second:
            first -= 1
        else:
            second -= 1
    parts = [_clip(name1, first)]
    if name2:
        parts.append(_clip(name2, second))
    if label:
        parts.append(label)
    return "_".join(parts)


def choose_name(name1: str, name2: str | None, label: str, taken: Collection[str]) -> str:
    """The first of `name1_name2_label`, `..._label1`, `..._label2` ... not taken."""
    number = 0
    while True:
        candidate = make_object_name(name1, name2, f"{label}{number or ''}")
        if candidate not in taken:
            return candidate
        number += 1


def column_part(columns: Sequence[str | None]) -> str:
    """The columns part of an index name: column names (`expr` for an expression)
    made unique with a number, joined by `_` until the name cannot grow longer."""
    names: list[str] = []
    for column in columns:
        base = column or "expr"
        name, number = base, 0
        while name in names:
            number += 1
            name = f"{base}{number}"
        names.append(name)
    joined = ""
    for name in names:
        joined = f"{joined}_{name}" if joined else name
        if len(joined.encode()) >= NAME_BYTES:
            break
    return joined


def _clip(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` bytes that ends on a character."""
    encoded = text.encode()[:limit]
    return encoded.decode(errors="ignore")


# The label PostgreSQL ends a constraint's name with, by constraint kind.
CONSTRAINT_LABELS = {
    "primary": "pkey",
    "unique": "key",
    "foreign": "fkey",
    "check": "check",
    "exclusion": "excl",
}


def constraint_name(
    table: str, kind: str, columns: Sequence[str], taken: Collection[str] = ()
) -> str:
    """The name PostgreSQL gives an unnamed constraint: `<table>_pkey`; a check after
    its column when it reads one column, else `<table>_check`; the others after their
    columns (`<table>_<a>_<b>_fkey`); a number added while the name is `taken`."""
    if kind == "primary":
        return choose_name(table, None, "pkey", taken)
    if kind == "check":
        column = columns[0] if len(set(columns)) == 1 else None
        return choose_name(table, column, "check", taken)
    return choose_name(table, "_".join(columns) or None, CONSTRAINT_LABELS[kind], taken)


def constraint_names(
    table: str, keys: Sequence[tuple[str | None, str, Sequence[str]]]
) -> list[str]:
    """The names of a table's constraints, (name, kind, columns) in declaration order:
    as written, or as PostgreSQL names the unnamed ones (each name taken in turn)."""
    names: list[str] = []
    for name, kind, columns in keys:
        names.append(
            name or constraint_name(table, kind, columns, {*names, *(k[0] for k in keys if k[0])})
        )
    return names


# -- names outside PostgreSQL ------------------------------------------------------

# What Dagster accepts in an asset key part (it joins them with `__` into op inputs).
ASSET_KEY_PART = re.compile(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*")
# Operator symbols spelled out, so `===` reads as `eq_eq_eq`.
SYMBOL_WORDS = {
    "=": "eq", "<": "lt", ">": "gt", "-": "minus", "+": "plus", "*": "star",
    "/": "slash", "!": "bang", "~": "tilde", "@": "at", "#": "hash", "%": "percent",
    "^": "caret", "&": "amp", "|": "bar", "?": "q", ".": "dot",
}  # fmt: skip


def asset_key_part(name: str) -> str:
    """A name as a valid, stable, readable asset key part.

    A name Dagster accepts is kept as it is; any other (quoted, spaces, non-ASCII,
    symbols) becomes its readable ASCII letters and digits plus a hash of the real
    name, so two names never share a part. The real name stays in the metadata.
    """
    if ASSET_KEY_PART.fullmatch(name):
        return name
    words: list[str] = []
    current = ""
    for char in unicodedata.normalize("NFKD", name):
        if char.isascii() and char.isalnum():
            current += char
            continue
        if current:
            words.append(current)
            current = ""
        if char in SYMBOL_WORDS:
            words.append(SYMBOL_WORDS[char])
    if current:
        words.append(current)
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return "_".join([*words, digest])
