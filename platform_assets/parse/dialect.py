"""The PostgreSQL dialect of sqlglot, extended with the syntax it lacks for schema files."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.parsers.postgres import PostgresParser


class SchemaParser(PostgresParser):
    _trailing_with_data: exp.WithDataProperty | None = None

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


class SchemaDialect(Postgres):
    Parser = SchemaParser


DIALECT = SchemaDialect
