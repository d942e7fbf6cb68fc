"""Errors that point at the file, line and object a user wrote."""

from __future__ import annotations

from platform_assets.model.objects import SourceLocation


class SchemaError(Exception):
    """A problem in the declared schema, located in its source file."""

    def __init__(
        self, message: str, location: SourceLocation | None = None, object_name: str | None = None
    ):
        self.message = message
        self.location = location
        self.object_name = object_name
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        what = f"{self.object_name}: " if self.object_name else ""
        return f"{where}{what}{self.message}"


class SchemaErrors(SchemaError):
    """Several problems found in one pass, reported together."""

    def __init__(self, errors: list[SchemaError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
