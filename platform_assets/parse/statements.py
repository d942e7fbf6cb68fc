"""Splitting schema files into statements, as written, with their line and session context."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import Token, TokenType

from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import SourceLocation, Statement
from platform_assets.parse.dialect import DIALECT
from platform_assets.parse.identifiers import fold_identifiers, identifier_text

# sqlglot warns for every statement it keeps as a bare Command; those are expected here.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

ANNOTATION_PREFIX = "platform:"
DEFAULT_SEARCH_PATH = ("public",)
# Session settings that change what a DDL statement does, carried to where it runs.
# The others pg_dump writes (timeouts, client_min_messages, row_security) concern
# the session that restores, which the runner sets itself.
DDL_SETTINGS = frozenset(
    {
        "check_function_bodies",
        "default_table_access_method",
        "default_tablespace",
        "standard_conforming_strings",
        "xmloption",
    }
)
# psql meta-commands pg_dump writes around a dump; they carry no schema.
PSQL_META_COMMANDS = frozenset({"\\restrict", "\\unrestrict"})


def read_statements(path: Path, root: Path) -> list[Statement]:
    """Every statement of one file, with the search_path in force where it stands.

    `SET search_path` and pg_dump's `set_config('search_path', ...)` change the
    path for the statements after them; they and other session settings are not
    objects and are not returned.
    """
    relative = path.relative_to(root) if path.is_relative_to(root) else path
    source = _without_meta_commands(path.read_text(encoding="utf-8"), relative)
    try:
        tokens = sqlglot.tokenize(source, read=DIALECT)
    except TokenError as error:
        raise SchemaError(f"cannot read SQL: {error}", SourceLocation(relative, 1)) from error

    statements: list[Statement] = []
    search_path = DEFAULT_SEARCH_PATH
    settings: dict[str, str] = {}
    # One parser for the file: making a dialect and a parser per statement costs more
    # than parsing a short statement (parse() resets its state).
    parser = DIALECT().parser()
    for chunk in _split(tokens):
        first, last = chunk[0], chunk[-1]
        text = source[first.start : last.end + 1]
        location = SourceLocation(relative, first.line)
        tree = _parse(parser, chunk, source, location)
        setting = _set_command(chunk) if isinstance(tree, exp.Command) else None
        if setting is not None:  # `SET name TO value, ...` (sqlglot keeps it a Command)
            name, values = setting
            if name == "search_path":
                search_path = _path_names(values) or DEFAULT_SEARCH_PATH
            elif name in DDL_SETTINGS:
                settings[name] = ", ".join(values)
            continue
        new_path = _search_path_change(tree)
        if new_path is not None:
            search_path = new_path or DEFAULT_SEARCH_PATH
            continue
        if isinstance(tree, exp.Set):
            settings.update(_ddl_settings(tree))
            continue  # session settings do not define objects
        statements.append(
            Statement(
                text=text,
                location=location,
                tree=tree,
                search_path=search_path,
                annotations=_annotations(first, location),
                settings=tuple(settings.items()),
                tokens=chunk,
            )
        )
    return statements


def _without_meta_commands(source: str, relative: Path) -> str:
    """The source with pg_dump's psql meta-command lines blanked (line numbers kept).

    A meta-command is a line of its own starting with a backslash; any other one
    is refused, since what it does depends on psql.
    """
    lines = source.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.startswith("\\"):
            continue
        command = line.split(maxsplit=1)[0]
        if command not in PSQL_META_COMMANDS:
            raise SchemaError(
                f"psql meta-command {command} is not SQL: run it with psql, or remove it "
                "(the platform reads SQL statements only)",
                SourceLocation(relative, number),
            )
        lines[number - 1] = ""
    return "\n".join(lines)


def _set_command(tokens: list[Token]) -> tuple[str, list[str]] | None:
    """`SET [SESSION | LOCAL] name {TO | =} value [, ...]` read from its tokens: the
    setting and its values (`"$user"` and `public` for pg_dump's search_path)."""
    words = [t.text.upper() for t in tokens]
    if words[:1] != ["SET"]:
        return None
    position = 2 if words[1:2] in (["SESSION"], ["LOCAL"]) else 1
    if len(tokens) < position + 3 or words[position + 1] not in ("TO", "="):
        return None
    # A string value is taken as written (PostgreSQL quotes it into a list setting).
    values = [
        t.text if t.token_type == TokenType.STRING else identifier_text(t)
        for t in tokens[position + 2 :]
        if t.token_type != TokenType.COMMA
    ]
    return tokens[position].text.lower(), values


def _ddl_settings(tree: exp.Set) -> dict[str, str]:
    """`SET name = value` items among DDL_SETTINGS, as name -> value text."""
    found: dict[str, str] = {}
    for item in tree.expressions:
        assignment = item.this if isinstance(item, exp.SetItem) else item
        if isinstance(assignment, exp.EQ) and assignment.this.name.lower() in DDL_SETTINGS:
            value = assignment.expression
            text = ("on" if value.this else "off") if isinstance(value, exp.Boolean) else value.name
            found[assignment.this.name.lower()] = text
    return found


def _split(tokens: list[Token]) -> list[list[Token]]:
    chunks: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append(current)
            current = []
        else:
            current.append(token)
    if current:
        chunks.append(current)
    return chunks


def _parse(parser: Parser, chunk: list[Token], source: str, location: SourceLocation) -> exp.Expr:
    """Parse one statement from the file's own tokens (positions and lines are the file's)."""
    try:
        [tree] = parser.parse(chunk, source)
    except ParseError as error:
        detail = error.errors[0] if error.errors else {}
        line = int(detail.get("line") or location.line)
        message = detail.get("description") or str(error)
        raise SchemaError(
            f"syntax error: {message}", SourceLocation(location.file, line)
        ) from error
    assert tree is not None
    return fold_identifiers(tree)


def _search_path_change(tree: exp.Expr) -> tuple[str, ...] | None:
    """The schemas a `SET search_path` or `set_config('search_path', ...)` selects."""
    if isinstance(tree, exp.Set):
        for item in tree.expressions:
            assignment = item.this if isinstance(item, exp.SetItem) else item
            if isinstance(assignment, exp.EQ) and assignment.this.name.lower() == "search_path":
                values = assignment.expression
                parts = values.expressions if isinstance(values, exp.Tuple) else [values]
                return _path_names(part.name for part in parts)
        return None
    if isinstance(tree, exp.Select) and len(tree.expressions) == 1:
        call = tree.expressions[0]
        if isinstance(call, exp.Dot):  # pg_catalog.set_config(...)
            call = call.expression
        if isinstance(call, exp.Anonymous) and call.name.lower() == "set_config":
            args = call.expressions
            if args and isinstance(args[0], exp.Literal) and args[0].name == "search_path":
                return _path_names(_identifier_list(args[1].name))
    return None


def _identifier_list(text: str) -> list[str]:
    """A list setting's value as set_config takes it (`'"$user", Public'`): names
    separated by commas, unquoted ones folded."""
    try:
        tokens = sqlglot.tokenize(text, read=DIALECT)
    except TokenError:
        return []
    return [identifier_text(t) for t in tokens if t.token_type != TokenType.COMMA]


def _path_names(names) -> tuple[str, ...]:
    cleaned = (name.strip() for name in names)
    return tuple(name for name in cleaned if name and name != "$user")


def _annotations(first: Token, location: SourceLocation) -> dict[str, str]:
    """`-- platform: key=value ...` comments directly before a statement."""
    found: dict[str, str] = {}
    for comment in first.comments:
        body = comment.strip()
        if not body.startswith(ANNOTATION_PREFIX):
            continue
        try:
            words = shlex.split(body[len(ANNOTATION_PREFIX) :])
        except ValueError as error:
            raise SchemaError(f"unreadable platform annotation: {error}", location) from error
        for word in words:
            key, sep, value = word.partition("=")
            if not sep:
                raise SchemaError(
                    f"platform annotation {word!r} is not of the form key=value", location
                )
            found[key.strip()] = value
    return found
