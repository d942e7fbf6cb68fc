"""Names as PostgreSQL reads them: unquoted identifiers fold to lower case, quoted ones stay.

`CREATE TABLE m.Readings` creates `m.readings`, `SELECT * FROM M.READINGS` reads it and
`"Readings"` is another table. Each parsed statement is folded once, where it is read,
so every name taken from a tree is the name the server gives the object. A name written
inside a string that PostgreSQL reads as a `regclass` or `regproc`
(`create_hypertable('M.Readings', ...)`, `nextval('Seq')`, `add_job('M.Job', ...)`)
folds the same way; a `name` argument (`by_range('time')`) is taken as written, as
the server takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from platform_assets.parse.dialect import DIALECT

_DIALECT = DIALECT()


@dataclass
class Name:
    """An object's name and, when written, its schema, as the server reads them."""

    schema: str | None
    name: str


def fold_identifiers(tree: exp.Expr) -> exp.Expr:
    """`tree` with every unquoted identifier and function name in lower case (in place).

    Rendered again, the tree means what it meant: an unquoted lower-case name is the
    same name to PostgreSQL.
    """
    for node in tree.walk():
        if isinstance(node, exp.Identifier):
            _DIALECT.normalize_identifier(node)
        elif isinstance(node, exp.Anonymous) and isinstance(node.this, str):
            # An unquoted function name is a string; a quoted one an Identifier.
            node.set("this", node.this.lower())
    return tree


def regclass_name(text: str) -> Name:
    """A relation or function named inside a string (`'M."Readings"'`), as PostgreSQL's
    `regclass` and `regproc` input read it."""
    table = fold_identifiers(exp.to_table(text, dialect=DIALECT))
    return Name(table.db or None, table.name)


def name_identifier(name: str) -> exp.Identifier:
    """A name as the server holds it, as an identifier that renders back to that name:
    quoted where it has upper case or anything PostgreSQL would not read bare."""
    identifier = exp.to_identifier(name)
    if _DIALECT.case_sensitive(name):
        identifier.set("quoted", True)
    return identifier


def identifier_text(token: Token) -> str:
    """The name a token spells: a quoted identifier as written, any other in lower case."""
    return token.text if token.token_type == TokenType.IDENTIFIER else token.text.lower()
