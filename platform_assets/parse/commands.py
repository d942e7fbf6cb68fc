"""Statements sqlglot keeps as a bare Command, read from their tokens.

pg_dump writes many statements sqlglot does not parse into a tree: the objects
the platform creates as written (operators, casts, publications, ...) and the
statements that complete an object declared before them (ownership, identity,
storage, replica identity, row level security, attached partitions). Each is
read here into a Declaration or an Amendment, naming the objects it refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot.tokens import Token, TokenType

from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import GLOBAL_SCHEMA, ObjectKind
from platform_assets.parse.identifiers import Name, identifier_text

# The words after CREATE / ALTER / COMMENT ON / GRANT ... ON that name an object
# kind, longest first so `OPERATOR CLASS` wins over `OPERATOR`.
KIND_WORDS: tuple[tuple[tuple[str, ...], ObjectKind], ...] = (
    (("TEXT", "SEARCH", "CONFIGURATION"), ObjectKind.TEXT_SEARCH_CONFIGURATION),
    (("TEXT", "SEARCH", "DICTIONARY"), ObjectKind.TEXT_SEARCH_DICTIONARY),
    (("TEXT", "SEARCH", "PARSER"), ObjectKind.TEXT_SEARCH_PARSER),
    (("TEXT", "SEARCH", "TEMPLATE"), ObjectKind.TEXT_SEARCH_TEMPLATE),
    (("FOREIGN", "DATA", "WRAPPER"), ObjectKind.FOREIGN_DATA_WRAPPER),
    (("TRUSTED", "PROCEDURAL", "LANGUAGE"), ObjectKind.LANGUAGE),
    (("MATERIALIZED", "VIEW"), ObjectKind.MATERIALIZED_VIEW),
    (("OPERATOR", "CLASS"), ObjectKind.OPERATOR_CLASS),
    (("OPERATOR", "FAMILY"), ObjectKind.OPERATOR_FAMILY),
    (("FOREIGN", "TABLE"), ObjectKind.FOREIGN_TABLE),
    (("EVENT", "TRIGGER"), ObjectKind.EVENT_TRIGGER),
    (("CONSTRAINT", "TRIGGER"), ObjectKind.TRIGGER),
    (("USER", "MAPPING"), ObjectKind.USER_MAPPING),
    (("ACCESS", "METHOD"), ObjectKind.ACCESS_METHOD),
    (("DEFAULT", "CONVERSION"), ObjectKind.CONVERSION),
    (("LARGE", "OBJECT"), ObjectKind.LARGE_OBJECT),
    (("PROCEDURAL", "LANGUAGE"), ObjectKind.LANGUAGE),
    (("TRUSTED", "LANGUAGE"), ObjectKind.LANGUAGE),
    (("UNLOGGED", "TABLE"), ObjectKind.TABLE),
    (("AGGREGATE",), ObjectKind.AGGREGATE),
    (("OPERATOR",), ObjectKind.OPERATOR),
    (("COLLATION",), ObjectKind.COLLATION),
    (("CONVERSION",), ObjectKind.CONVERSION),
    (("STATISTICS",), ObjectKind.STATISTICS),
    (("RULE",), ObjectKind.RULE),
    (("POLICY",), ObjectKind.POLICY),
    (("CAST",), ObjectKind.CAST),
    (("PUBLICATION",), ObjectKind.PUBLICATION),
    (("SUBSCRIPTION",), ObjectKind.SUBSCRIPTION),
    (("SERVER",), ObjectKind.SERVER),
    (("LANGUAGE",), ObjectKind.LANGUAGE),
    (("TRANSFORM",), ObjectKind.TRANSFORM),
    (("EXTENSION",), ObjectKind.EXTENSION),
    (("SCHEMA",), ObjectKind.SCHEMA),
    (("FUNCTION",), ObjectKind.FUNCTION),
    (("PROCEDURE",), ObjectKind.FUNCTION),
    (("ROUTINE",), ObjectKind.FUNCTION),
    (("DOMAIN",), ObjectKind.DOMAIN),
    (("TYPE",), ObjectKind.TYPE),
    (("SEQUENCE",), ObjectKind.SEQUENCE),
    (("TABLE",), ObjectKind.TABLE),
    (("VIEW",), ObjectKind.VIEW),
    (("INDEX",), ObjectKind.INDEX),
    (("TRIGGER",), ObjectKind.TRIGGER),
)

# Where the compiler looks a name up, per kind: kinds sharing pg_class share one.
LOOKUP_NAMESPACE: dict[ObjectKind, str] = {
    ObjectKind.TABLE: "relation",
    ObjectKind.FOREIGN_TABLE: "relation",
    ObjectKind.SEQUENCE: "relation",
    ObjectKind.VIEW: "relation",
    ObjectKind.MATERIALIZED_VIEW: "relation",
    ObjectKind.INDEX: "relation",
    ObjectKind.TYPE: "type",
    ObjectKind.DOMAIN: "type",
    ObjectKind.FUNCTION: "function",
    ObjectKind.SCHEMA: "schema",
    ObjectKind.EXTENSION: "extension",
}

# Kinds whose name is read as `name ON table`.
ON_RELATION = frozenset({ObjectKind.TRIGGER, ObjectKind.RULE, ObjectKind.POLICY})


@dataclass
class CommandObject:
    """What a token-read statement names: its kind, name and the relation it is on."""

    kind: ObjectKind
    name: Name
    relation: Name | None = None
    # What identifies the object in the catalog beyond its name (a cast's types, ...).
    identity: tuple[str, ...] = ()
    # Objects the statement refers to: (namespace, name).
    references: list[tuple[str, Name]] = field(default_factory=list)


class TokenReader:
    """A cursor over one statement's tokens."""

    def __init__(self, tokens: list[Token], text: str, offset: int = 0):
        self.tokens = [t for t in tokens if t.token_type != TokenType.SEMICOLON]
        self.text = text
        # Token positions minus `offset` are positions in `text` (the file's tokens).
        self.offset = offset
        self.position = 0
        # Each token's text in upper case, made once: matching reads it at every step.
        self._upper = [t.text.upper() for t in self.tokens]

    def source(self, start: int, end: int) -> str:
        """The statement's text from token position `start` to `end` (inclusive)."""
        return self.text[start - self.offset : end - self.offset + 1]

    @property
    def words(self) -> list[str]:
        return self._upper[self.position :]

    def match(self, *words: str) -> bool:
        if tuple(self._upper[self.position : self.position + len(words)]) == words:
            self.position += len(words)
            return True
        return False

    def skip(self, *words: str) -> None:
        """Skip any of these single words, in any order, where they stand."""
        while self.position < len(self.tokens) and self._upper[self.position] in words:
            self.position += 1

    def kind(self) -> ObjectKind | None:
        for words, kind in KIND_WORDS:
            if self.match(*words):
                return kind
        return None

    def skip_if_exists(self) -> None:
        if not self.match("IF", "NOT", "EXISTS"):
            self.match("IF", "EXISTS")

    def identifier(self) -> str:
        if self.position >= len(self.tokens):
            raise SchemaError("expected an object name")
        token = self.tokens[self.position]
        self.position += 1
        return identifier_text(token)

    def qualified_name(self) -> Name:
        first = self.identifier()
        if self.position < len(self.tokens) and self.tokens[self.position].token_type == (
            TokenType.DOT
        ):
            self.position += 1
            return Name(first, self.identifier())
        return Name(None, first)

    def operator_name(self) -> Name:
        """`schema.+` or `<->`: an operator's symbol runs up to its argument list."""
        schema = None
        if len(self.tokens) > self.position + 1 and (
            self.tokens[self.position + 1].token_type == TokenType.DOT
        ):
            schema = self.identifier()
            self.position += 1
        symbol = ""
        while self.position < len(self.tokens) and self.tokens[self.position].token_type not in (
            TokenType.L_PAREN,
        ):
            symbol += self.tokens[self.position].text
            self.position += 1
        return Name(schema, symbol)

    def parenthesized(self) -> str:
        """The source text inside the parentheses that start here."""
        if self.position >= len(self.tokens) or self._upper[self.position] != "(":
            return ""
        depth, start = 0, self.tokens[self.position].end + 1
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
            self.position += 1
            if depth == 0:
                return self.source(start, token.start - 1).strip()
        return self.source(start, self.tokens[-1].end).strip()

    def cast_types(self) -> tuple[str, str]:
        """`(source AS target)`: the two type names as written."""
        inner = TokenReader(self.tokens[self.position + 1 :], self.text, self.offset)
        split = next(
            (i for i, t in enumerate(inner.tokens) if t.token_type == TokenType.ALIAS), None
        )
        self.parenthesized()
        if split is None:
            raise SchemaError("CREATE CAST: expected (source AS target)")
        end = next(i for i, t in enumerate(inner.tokens) if t.token_type == TokenType.R_PAREN)
        source, target = inner.tokens[:split], inner.tokens[split + 1 : end]
        return (
            self.source(source[0].start, source[-1].end),
            self.source(target[0].start, target[-1].end),
        )

    def dotted(self) -> list[str]:
        """`a.b.c`: every part of a dotted name."""
        parts = [self.identifier()]
        while self.position < len(self.tokens) and self.tokens[self.position].token_type == (
            TokenType.DOT
        ):
            self.position += 1
            parts.append(self.identifier())
        return parts

    def names_after(self, *words: str) -> list[Name]:
        """The qualified names following each occurrence of the word sequence."""
        found = []
        for index in range(self.position, len(self.tokens) - len(words) + 1):
            here = self._upper[index : index + len(words)]
            if here == list(words) and index + len(words) < len(self.tokens):
                reader = TokenReader(self.tokens[index + len(words) :], self.text, self.offset)
                reader.skip("ONLY")
                found.append(reader.qualified_name())
        return found


def read_object(reader: TokenReader, kind: ObjectKind) -> CommandObject:
    """The object named at the reader's position, for a statement about `kind`."""
    reader.skip_if_exists()
    if kind == ObjectKind.CAST:
        source, target = reader.cast_types()
        return CommandObject(
            kind, Name(GLOBAL_SCHEMA, f"{source} as {target}"), identity=(source, target)
        )
    if kind == ObjectKind.USER_MAPPING:
        reader.match("FOR")
        user = reader.identifier()
        reader.match("SERVER")
        server = reader.identifier()
        return CommandObject(
            kind,
            Name(GLOBAL_SCHEMA, f"{user} on {server}"),
            identity=(user, server),
            references=[("server", Name(GLOBAL_SCHEMA, server))],
        )
    if kind == ObjectKind.TRANSFORM:
        reader.match("FOR")
        type_name = reader.qualified_name()
        reader.match("LANGUAGE")
        language = reader.identifier()
        qualified = f"{type_name.schema}.{type_name.name}" if type_name.schema else type_name.name
        return CommandObject(
            kind, Name(GLOBAL_SCHEMA, f"{qualified} {language}"), identity=(qualified, language)
        )
    if kind == ObjectKind.OPERATOR:
        name = reader.operator_name()
        arguments = reader.parenthesized()
        return CommandObject(kind, name, identity=(arguments,) if arguments else ())
    name = reader.qualified_name()
    if kind in (ObjectKind.OPERATOR_CLASS, ObjectKind.OPERATOR_FAMILY):
        reader.skip("DEFAULT", "FOR", "TYPE")
        methods = reader.names_after("USING")
        return CommandObject(kind, name, identity=(methods[0].name,) if methods else ())
    if kind in ON_RELATION:
        # CREATE RULE r AS ON DELETE TO t; everywhere else (and ALTER RULE r ON t): ON t.
        relations = (reader.names_after("TO") if kind == ObjectKind.RULE else []) or (
            reader.names_after("ON")
        )
        if not relations:
            raise SchemaError(f"{kind.value.replace('_', ' ')} {name.name}: no ON <table>")
        return CommandObject(kind, Name(None, name.name), relation=relations[0])
    if kind in (ObjectKind.FUNCTION, ObjectKind.AGGREGATE):
        arguments = reader.parenthesized()
        return CommandObject(kind, name, identity=(arguments,))
    if kind in (
        ObjectKind.EVENT_TRIGGER,
        ObjectKind.PUBLICATION,
        ObjectKind.SUBSCRIPTION,
        ObjectKind.FOREIGN_DATA_WRAPPER,
        ObjectKind.SERVER,
        ObjectKind.LANGUAGE,
        ObjectKind.ACCESS_METHOD,
        ObjectKind.LARGE_OBJECT,
    ):
        return CommandObject(kind, Name(GLOBAL_SCHEMA, name.name))
    if kind in (ObjectKind.SCHEMA, ObjectKind.EXTENSION):
        return CommandObject(kind, Name(None, name.name))
    return CommandObject(kind, name)


def default_privileges(reader: TokenReader) -> CommandObject:
    """`ALTER DEFAULT PRIVILEGES [FOR ROLE r] [IN SCHEMA s] GRANT ... ON TABLES ...`."""
    role = ""
    schema: str | None = None
    if reader.match("FOR", "ROLE") or reader.match("FOR", "USER"):
        role = reader.identifier()
    if reader.match("IN", "SCHEMA"):
        schema = reader.identifier()
    words = reader.words
    on = words.index("ON") if "ON" in words else -1
    objects = words[on + 1].lower() if on >= 0 and on + 1 < len(words) else ""
    label = " ".join(part for part in (role, objects) if part)
    return CommandObject(
        ObjectKind.DEFAULT_PRIVILEGES,
        Name(schema or GLOBAL_SCHEMA, label),
        identity=(role, schema or "", objects),
    )


def identity_added(tokens: list[Token]) -> tuple[str, bool] | None:
    """`ALTER TABLE t ALTER COLUMN c ADD GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY`:
    (c, always), as pg_dump writes identity columns."""
    reader = TokenReader(tokens, "")
    if not (reader.match("ALTER", "TABLE")):
        return None
    reader.skip_if_exists()
    reader.skip("ONLY")
    reader.qualified_name()
    if not reader.match("ALTER", "COLUMN") and not reader.match("ALTER"):
        return None
    column = reader.identifier()
    if not reader.match("ADD", "GENERATED"):
        return None
    return column, reader.match("ALWAYS")


# Roles `OWNER TO` may name by a keyword instead of a name.
ROLE_KEYWORDS = frozenset({"CURRENT_USER", "CURRENT_ROLE", "SESSION_USER"})


@dataclass(frozen=True)
class AccessChange:
    """A statement that changes who owns an object, who may use it or its comment."""

    # "owner" (ALTER ... OWNER TO), "grant" (GRANT / REVOKE) or "comment" (COMMENT ON).
    what: str
    # For "owner": the role named (lower case if unquoted), or CURRENT_USER & co.
    role: str | None = None


def access_change(statement_tokens: list[Token], tree_type: str) -> AccessChange | None:
    """What an object's completing statement changes, if it is an ownership, privilege
    or comment statement (`tree_type`: the class name of its sqlglot tree)."""
    if tree_type in ("Grant", "Revoke"):
        return AccessChange("grant")
    if tree_type == "Comment":
        return AccessChange("comment")
    if tree_type != "Command":
        return None
    reader = TokenReader(statement_tokens, "")
    words = reader.words
    if words[:1] in (["GRANT"], ["REVOKE"]):
        return AccessChange("grant")
    if words[:2] == ["COMMENT", "ON"]:
        return AccessChange("comment")
    # `ALTER <kind> <name> OWNER TO <role>`: always its last three words (and not
    # `RENAME [COLUMN] owner TO x`).
    if words[:1] != ["ALTER"] or words[-3:-1] != ["OWNER", "TO"] or "RENAME" in words:
        return None
    reader.position = len(words) - 1
    word = reader.words[0]
    return AccessChange("owner", word if word in ROLE_KEYWORDS else reader.identifier())
