"""What the Dagster UI shows for a declared relation before any run, in its own conventions:
`dagster/table_name`, code references to the `.sql` file and line, `dagster/column_schema`
from the declared columns (each `COMMENT ON COLUMN` as the column's description), and the
owners named by a `-- platform: owners=...` annotation."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import dagster as dg
from sqlglot import exp

from platform_assets.model.declarations import TableDefinition
from platform_assets.model.errors import SchemaError
from platform_assets.model.objects import ObjectKind, SchemaObject, SourceLocation

# The assets that are a relation a query can read: they get a table name and columns.
TABLE_KINDS = frozenset(
    {
        ObjectKind.TABLE,
        ObjectKind.VIEW,
        ObjectKind.MATERIALIZED_VIEW,
        ObjectKind.CONTINUOUS_AGGREGATE,
    }
)
OWNERS_ANNOTATION = "owners"


def code_references(root: Path, location: SourceLocation) -> dg.CodeReferencesMetadataValue:
    """The UI's "open source" link: the declaring file (absolute) and line."""
    # Beta in Dagster 1.13, and what the UI reads for its source links: no warning per asset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.CodeReferencesMetadataValue(
            code_references=[
                dg.LocalFileCodeReference(
                    file_path=_absolute(root, location.file),
                    line_number=location.line,
                    label=str(location),
                )
            ]
        )


@functools.cache  # one file declares many objects
def _absolute(root: Path, file: Path) -> str:
    return str(file if file.is_absolute() else root / file)


def column_comments(table: SchemaObject) -> dict[str, str]:
    """Column name -> its `COMMENT ON COLUMN` text, from the statements completing `table`."""
    comments: dict[str, str] = {}
    for statement in table.statements[1:]:
        tree = statement.tree
        if not isinstance(tree, exp.Comment) or (tree.args.get("kind") or "").upper() != "COLUMN":
            continue
        text = tree.args.get("expression")
        if isinstance(tree.this, exp.Column) and isinstance(text, exp.Literal):
            comments[tree.this.name] = text.name
    return comments


def declared_column_schema(table: SchemaObject) -> dg.TableSchema | None:
    """The declared columns (type, nullability, uniqueness, comment); None for a table whose
    columns come from elsewhere (PARTITION OF, AS SELECT)."""
    definition = table.declared(TableDefinition)
    if not definition.columns:
        return None
    unique = {key.columns[0] for key in definition.primary_and_unique_keys if len(key.columns) == 1}
    comments = column_comments(table)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=column.type_sql.lower(),
                description=comments.get(column.name),
                constraints=dg.TableColumnConstraints(
                    nullable=not column.not_null, unique=column.name in unique
                ),
            )
            for column in definition.columns
        ]
    )


def owners(obj: SchemaObject) -> list[str]:
    """`-- platform: owners=team:data,ada@example.com`: Dagster's owners, a team or an email."""
    written = obj.annotations.get(OWNERS_ANNOTATION, "")
    found = [owner.strip() for owner in written.split(",") if owner.strip()]
    for owner in found:
        if not (owner.startswith("team:") or "@" in owner):
            raise SchemaError(
                f"owner {owner!r}: an owner is an email address or `team:<name>`",
                obj.location,
                obj.describe(),
            )
    return found
