"""The PostgreSQL dialect of sqlglot, extended with the syntax it lacks for schema files."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokens import TokenType

# What may follow a function parameter's type: the next parameter, the end, a default.
PARAMETER_END = (TokenType.COMMA, TokenType.R_PAREN, TokenType.DEFAULT, TokenType.EQ)


class WithoutOverlaps(exp.Expression):
    """The last part of a PostgreSQL 18 temporal key: `PRIMARY KEY (id, valid WITHOUT
    OVERLAPS)` (likewise UNIQUE); `this` is the range column."""

    arg_types = {"this": True}

    @property
    def name(self) -> str:
        return self.this.name


class VirtualColumnConstraint(exp.ComputedColumnConstraint):
    """PostgreSQL 18's `GENERATED ALWAYS AS (expr) [VIRTUAL]`: computed when read (its
    default; before 18 a generated column had to be STORED)."""


class NotNullConstraint(exp.Expression):
    """PostgreSQL 18's NOT NULL constraint of a table: `CONSTRAINT c NOT NULL column`
    (in CREATE TABLE, or added by ALTER TABLE, then maybe NOT VALID)."""

    arg_types = {"this": True, "no_inherit": False}


def _without_overlaps(parse):
    """A key part parser that also reads a trailing `WITHOUT OVERLAPS`."""

    def parse_part(self):
        part = parse(self)
        if part is not None and self._match_text_seq("WITHOUT", "OVERLAPS"):
            return self.expression(WithoutOverlaps(this=part))
        return part

    return parse_part


class SchemaParser(PostgresParser):
    _trailing_with_data: exp.WithDataProperty | None = None
    _in_unique_key = False
    # `ALTER TABLE t ADD CHECK (...)` / `ADD EXCLUDE ...`: constraints without a name.
    ADD_CONSTRAINT_KEYWORDS = {*PostgresParser.ADD_CONSTRAINT_KEYWORDS, "CHECK", "EXCLUDE"}

    _parse_primary_key_part = _without_overlaps(PostgresParser._parse_primary_key_part)

    def _parse_unique(self) -> exp.UniqueColumnConstraint:
        # UNIQUE (a, b WITHOUT OVERLAPS): the key's columns, the last one temporal.
        self._in_unique_key = True
        try:
            return super()._parse_unique()
        finally:
            self._in_unique_key = False

    def _parse_statement(self) -> exp.Expr | None:
        # SECURITY LABEL ... has no parser in sqlglot: kept whole, read from its tokens.
        if (
            self._curr is not None
            and self._next is not None
            and ((self._curr.text.upper(), self._next.text.upper()) == ("SECURITY", "LABEL"))
        ):
            return self._parse_as_command(self._curr)
        return super()._parse_statement()

    def _parse_generated_as_identity(self):
        generated = super()._parse_generated_as_identity()
        # AS (expr) without IDENTITY or STORED: a virtual generated column.
        if isinstance(generated, exp.GeneratedAsIdentityColumnConstraint) and (
            generated.args.get("expression") is not None
        ):
            self._match_text_seq("VIRTUAL")
            return self.expression(VirtualColumnConstraint(this=generated.args["expression"]))
        return generated

    def _parse_constraint(self) -> exp.Expr | None:
        index = self._index
        if self._match(TokenType.CONSTRAINT):
            name = self._parse_id_var()
            if (
                self._match_text_seq("NOT", "NULL")
                and self._curr is not None
                and (self._curr.token_type not in PARAMETER_END)
            ):
                column = self._parse_id_var()
                no_inherit = self._match_text_seq("NO", "INHERIT")
                return self.expression(
                    exp.Constraint(
                        this=name,
                        expressions=[NotNullConstraint(this=column, no_inherit=no_inherit)],
                    )
                )
        self._retreat(index)
        return super()._parse_constraint()

    def _parse_field_def(self) -> exp.Expr | None:
        if self._in_unique_key:
            index = self._index
            field = self._parse_field(any_token=True)
            if field is not None and self._match_text_seq("WITHOUT", "OVERLAPS"):
                return self.expression(WithoutOverlaps(this=field))
            self._retreat(index)
        return super()._parse_field_def()

    def _parse_key_value_property(self, parse_value=None, optional: bool = False):
        # TimescaleDB options such as `WITH (timescaledb.continuous)` are flags:
        # a dotted key with no `= value`.
        prop = super()._parse_key_value_property(parse_value, optional)
        if prop is not None or optional:
            return prop
        index = self._index
        key = self._parse_column()
        if isinstance(key, exp.Column) and len(key.parts) > 1:
            return self.expression(exp.Property(this=key.to_dot(), value=exp.true()))
        self._retreat(index)
        return None

    def _parse_function_parameter(self) -> exp.Expr | None:
        # pg_dump writes parameters without names (`f(timestamp with time zone)`): when
        # `name type` does not read as one parameter, read the whole of it as a type.
        index = self._index
        try:
            parameter = super()._parse_function_parameter()
        except ParseError:
            parameter = None
        if parameter is not None and (self._curr is None or self._curr.token_type in PARAMETER_END):
            return parameter
        self._retreat(index)
        if self._parse_parameter_mode():
            self._advance()
        # An unnamed parameter is its type alone (its mode does not matter to the platform).
        return self._parse_types(check_func=False, allow_identifiers=True)

    def _parse_index(self, index: exp.Expr | None = None, anonymous: bool = False):
        # `CREATE INDEX ... ON ONLY parent`: pg_dump's form for a partitioned table's index.
        if (index or anonymous) and self._match_pair(TokenType.ON, TokenType.ONLY):
            table = self._parse_table_parts(schema=True)
            table.set("only", True)
            params = self._parse_index_params()
            return self.expression(exp.Index(this=index, table=table, params=params))
        return super()._parse_index(index, anonymous)

    def _parse_ddl_select(self) -> exp.Expr | None:
        # PostgreSQL's `CREATE MATERIALIZED VIEW ... AS query WITH [NO] DATA`.
        query = super()._parse_ddl_select()
        if query is not None and self._match_text_seq("WITH", "NO", "DATA"):
            self._trailing_with_data = exp.WithDataProperty(no=True)
        elif query is not None and self._match_text_seq("WITH", "DATA"):
            self._trailing_with_data = exp.WithDataProperty(no=False)
        return query

    def _parse_create(self) -> exp.Create | exp.Command:
        self._trailing_with_data = None
        create = super()._parse_create()
        if isinstance(create, exp.Create) and self._trailing_with_data is not None:
            props = create.args.get("properties") or exp.Properties(expressions=[])
            props.append("expressions", self._trailing_with_data)
            create.set("properties", props)
        return create


class SchemaGenerator(PostgresGenerator):
    TRANSFORMS = {
        **PostgresGenerator.TRANSFORMS,
        WithoutOverlaps: lambda self, e: f"{self.sql(e, 'this')} WITHOUT OVERLAPS",
        VirtualColumnConstraint: lambda self, e: f"GENERATED ALWAYS AS ({self.sql(e, 'this')})",
        NotNullConstraint: lambda self, e: (
            f"NOT NULL {self.sql(e, 'this')}" + (" NO INHERIT" if e.args.get("no_inherit") else "")
        ),
    }


class SchemaDialect(Postgres):
    Parser = SchemaParser
    Generator = SchemaGenerator


DIALECT = SchemaDialect
