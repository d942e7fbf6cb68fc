"""Ownership, grants and comments of an existing object: applied where they differ.

pg_dump completes every object with `ALTER ... OWNER TO`, GRANT / REVOKE and
COMMENT statements. On an object that already exists they run only where they
change its owner, privileges or comments (live/access.py): the owner is compared
with the role named, a comment with its text, a GRANT on a relation with the
privileges it holds already (granted by its owner); other grants and revokes (and
comments whose text sqlglot does not read) are tried in a savepoint that is rolled
back (a GRANT or COMMENT takes no lock that blocks reads or writes; `OWNER TO` takes
an ACCESS EXCLUSIVE lock, so it is never tried, only run when it differs).
"""

from __future__ import annotations

from sqlglot import exp

from platform_assets.live.access import access_state
from platform_assets.live.session import Session
from platform_assets.model.declarations import ExistingSchema
from platform_assets.model.objects import SchemaObject, Statement
from platform_assets.parse.commands import ROLE_KEYWORDS, AccessChange, access_change


def statement_access(statement: Statement) -> AccessChange | None:
    """What the statement changes of its object's access, if that is all it does."""
    return access_change(statement.tokens, type(statement.tree).__name__)


def access_statements_due(obj: SchemaObject, session: Session) -> list[Statement]:
    """The object's ownership, grant and comment statements that would change it, in
    their order (ownership first: it rewrites the grantor of every privilege)."""
    # An existing schema (public) is only completed: its first statement is one too.
    completing = (
        obj.statements if isinstance(obj.declaration, ExistingSchema) else (obj.statements[1:])
    )
    changes = [(s, statement_access(s)) for s in completing]
    owners = [(s, change) for s, change in changes if change is not None and change.what == "owner"]
    others = [s for s, change in changes if change is not None and change.what != "owner"]
    if not owners and not others:
        return []
    before = access_state(session, obj)
    if before is None:  # a kind with no access state: applied with its creation only
        return []
    due = [s for s, change in owners if _owner_differs(change, before, session)]
    # A comment whose text the statement spells out is compared, so is a grant the
    # object holds already; the rest are tried.
    compared = {id(s): _comment_differs(s, before) for s in others}
    compared.update(
        (id(s), False)
        for s in others
        if compared[id(s)] is None and _granted_already(s, obj, before, session)
    )
    tried = [s for s in others if compared[id(s)] is None]
    if tried:
        with session.conn.transaction(force_rollback=True):
            for statement in due + tried:
                session.conn.execute(statement.text)
            after = access_state(session, obj, now=True)
        changed = after != before
    else:
        changed = False
    return due + [s for s in others if compared[id(s)] or (compared[id(s)] is None and changed)]


# COMMENT ON kinds whose state (live/access.py) holds the comment itself, or the column's.
_COMPARED_KINDS = frozenset({"TABLE", "VIEW", "SEQUENCE", "INDEX", "TYPE", "SCHEMA", "COLUMN"})


def _comment_differs(statement: Statement, state: dict) -> bool | None:
    """Whether a COMMENT ON a relation, one of its columns, a type or a schema sets another
    text than the object has; None when that cannot be told without running it (a grant,
    a function's comment, a text sqlglot does not read as a plain string)."""
    tree = statement.tree
    if not isinstance(tree, exp.Comment):
        return None
    kind = (tree.args.get("kind") or "").upper()
    text = tree.expression
    if kind not in _COMPARED_KINDS or not (isinstance(text, exp.Literal) and text.is_string):
        return None
    if kind == "COLUMN":
        column = (state.get("columns") or {}).get(tree.this.name)
        return column is None or column[1] != text.this
    return state.get("comment") != text.this


# A relation's privileges as aclexplode names them.
_RELATION_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
    | {"USAGE"}  # of a sequence
)


def _granted_already(
    statement: Statement, obj: SchemaObject, state: dict, session: Session
) -> bool:
    """Whether a GRANT of privileges on a relation (no column list, no ALL) to named
    roles or PUBLIC is held already, as granted by the owner, as this session's GRANT
    would record it (it runs as a superuser or as the owner). Anything else cannot be
    told without running it."""
    tree = statement.tree
    privileges = state.get("privileges")
    if not isinstance(tree, exp.Grant) or not privileges:
        return False
    role, superuser = session.current_role
    owner = state.get("owner")
    if not (superuser or role == owner) or any(
        name in ("role", "session_authorization") for name, _ in obj.definition.settings
    ):
        return False
    wanted = []
    for privilege in tree.args.get("privileges") or []:
        name = privilege.this.name.upper() if isinstance(privilege.this, exp.Var) else ""
        if privilege.expressions or name not in _RELATION_PRIVILEGES:
            return False
        wanted.append(name)
    grantees = []
    for principal in tree.args.get("principals") or []:
        identifier = principal.this
        if not isinstance(identifier, exp.Identifier) or principal.args.get("kind"):
            return False
        name = identifier.this if identifier.quoted else identifier.this.lower()
        if not identifier.quoted and name.upper() in ROLE_KEYWORDS:
            return False
        grantees.append(None if not identifier.quoted and name == "public" else name)
    option = bool(tree.args.get("grant_option"))
    held = {
        (grantee, privilege)
        for grantee, privilege, grantable, grantor in privileges
        if grantor == owner and (grantable or not option)
    }
    return bool(wanted and grantees) and all(
        (grantee, privilege) in held for grantee in grantees for privilege in wanted
    )


def _owner_differs(change: AccessChange, state: dict, session: Session) -> bool:
    assert change.role is not None
    role = change.role
    if role in ROLE_KEYWORDS:
        role = session.value(f"SELECT {role.lower()}")  # a keyword from ROLE_KEYWORDS
    return state.get("owner") != role
