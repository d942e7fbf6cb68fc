"""The names PostgreSQL gives objects declared without one (indexes, constraints).

The rules of PostgreSQL's `makeObjectName` and `ChooseRelationName`
(src/backend/commands/indexcmds.c): `<table>_<columns>_<label>`, the longer of
the two parts shortened first so the whole fits in 63 bytes, and a number added
to the label while the name is taken.
"""

from __future__ import annotations

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


def constraint_name(table: str, kind: str, columns: Sequence[str]) -> str:
    """The name PostgreSQL gives an unnamed constraint: `<table>_pkey`; a check after
    its first column; the others after their columns (`<table>_<a>_<b>_fkey`)."""
    if kind == "primary":
        return make_object_name(table, None, "pkey")
    if kind == "check":
        return make_object_name(table, columns[0] if columns else None, "check")
    return make_object_name(table, "_".join(columns) or None, CONSTRAINT_LABELS[kind])
