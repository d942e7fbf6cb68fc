"""The compiled graph, cached by the content of `sql/` and `seeds/`.

Every process that loads the definitions (the CLI, the code server, each run worker and
sensor process) would otherwise parse `sql/` again; sqlglot takes about a millisecond a
statement. As Dagster's state-backed components do with their state, the compiled graph
is stored once under `.platform/cache/` and loaded from there while nothing it was
compiled from has changed.

The key is a digest of every file below `sql/` and `seeds/` (path and bytes), of the
project's location, of the platform's own source and of the Python and sqlglot versions,
so any edit, an upgrade or a change to the compiler makes a new key. A project with
several schemas (one component instance each, with its own `sql_dir` and `seeds_dir`)
keeps one entry per pair of directories, so loading one never evicts another's. An entry that cannot
be read (truncated, corrupt, another format) is ignored and replaced; a directory that
cannot be written means no cache, never a failure. A compile that fails is not cached,
so its errors are reported on every load.
"""

from __future__ import annotations

import copyreg
import functools
import gc
import hashlib
import io
import logging
import operator
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.tokens import Token

from platform_assets.model.graph import SchemaGraph
from platform_assets.model.objects import Statement
from platform_assets.parse.compiler import compile_directory

CACHE_DIR = Path(".platform") / "cache"
# Bumped when what is stored changes shape in a way the key would not show.
FORMAT = 1
# Parsed statements nest deeply; pickling them recurses once per level.
_RECURSION_LIMIT = 20_000
PACKAGE = Path(__file__).resolve().parent.parent

log = logging.getLogger(__name__)


def compile_project(
    root: Path, sql_dir: Path | None = None, seeds_dir: Path | None = None
) -> SchemaGraph:
    """`compile_directory(sql_dir, root, seeds_dir)` (default `root/sql`, `root/seeds`),
    from the cache when its inputs are unchanged."""
    sql_dir, seeds_dir = sql_dir or root / "sql", seeds_dir or root / "seeds"
    key = project_key(root, sql_dir, seeds_dir)
    path = _entry_dir(root, sql_dir, seeds_dir) / f"graph-{key}.pickle"
    graph = _read(path, key)
    if graph is not None:
        return graph
    with long_lived():
        graph = compile_directory(sql_dir, root, seeds_dir)
        _write(path, key, graph)
    return graph


def project_key(root: Path, sql_dir: Path | None = None, seeds_dir: Path | None = None) -> str:
    """The digest of everything the compiled graph is made from."""
    digest = hashlib.sha256()
    # The root too: the graph holds it, so a moved project is compiled again.
    header = f"{FORMAT}\0{root.resolve()}\0{platform_digest()}\0"
    digest.update(header.encode())
    for folder in (sql_dir or root / "sql", seeds_dir or root / "seeds"):
        digest.update(f"{folder.resolve()}\0".encode())
        for path in _files(folder, "*"):
            _add_file(digest, path, folder)
    return digest.hexdigest()[:32]


def _entry_dir(root: Path, sql_dir: Path, seeds_dir: Path) -> Path:
    """`.platform/cache/` for the project's own `sql/` and `seeds/`; a folder of its own
    for any other pair, since writing an entry removes the stale ones beside it."""
    cache = root / CACHE_DIR
    if (sql_dir.resolve(), seeds_dir.resolve()) == (
        (root / "sql").resolve(),
        (root / "seeds").resolve(),
    ):
        return cache
    pair = f"{sql_dir.resolve()}\0{seeds_dir.resolve()}".encode()
    return cache / hashlib.sha256(pair).hexdigest()[:16]


@functools.cache
def platform_digest() -> str:
    """The digest of the platform itself: its source and the Python and sqlglot versions
    (what a compiled graph, or a result worked out from one, also follows from)."""
    digest = hashlib.sha256(f"{sys.version}\0{sqlglot.__version__}\0".encode())
    for path in _files(PACKAGE, "*.py"):
        _add_file(digest, path, PACKAGE)
    return digest.hexdigest()


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(path for path in folder.rglob(pattern) if path.is_file())


def _add_file(digest: hashlib._Hash, path: Path, base: Path) -> None:
    content = path.read_bytes()
    digest.update(f"{path.relative_to(base).as_posix()}\0{len(content)}\0".encode())
    digest.update(content)


def _read(path: Path, key: str) -> SchemaGraph | None:
    try:
        with path.open("rb") as file, _unpickling():
            stored_key, graph = pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # any unreadable entry is a miss, never an error
        log.debug("ignoring the graph cache %s: %s", path, error)
        return None
    if stored_key != key or not isinstance(graph, SchemaGraph):
        return None
    return graph


def _write(path: Path, key: str, graph: SchemaGraph) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        with _deep_recursion():
            _GraphPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((key, graph))
        payload = buffer.getvalue()
        # Written aside and renamed, so a reader sees a whole entry or none.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".graph-")
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        os.replace(temporary, path)
        for stale in path.parent.glob("graph-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, RecursionError) as error:
        log.debug("not caching the compiled graph in %s: %s", path.parent, error)


class _GraphPickler(pickle.Pickler):
    """Pickles sqlglot trees as plain objects (their slots), not through sqlglot's own
    `__reduce__` (sqlglot.serde), whose loading rebuilds each node in Python: ten times
    slower, the whole of a cached load at 10,000 objects."""

    def reducer_override(self, obj: object):
        # Called for every object that is not a builtin: by type, once.
        if type(obj) is Token:
            # A Command's tokens: pickled as their constructor's arguments, faster than
            # pickle's own slot state.
            return Token, (
                obj.token_type,
                obj.text,
                obj.line,
                obj.col,
                obj.start,
                obj.end,
                obj.comments,
            )
        cls = type(obj)
        if cls is Statement and obj.tokens and not isinstance(obj.tree, exp.Command):
            # After compiling, only a bare Command is read from its tokens (its access
            # change, parse/commands.py): the others are cached without theirs.
            return copyreg.__newobj__, (cls,), {**obj.__dict__, "tokens": []}
        state = _STATE.get(cls)
        if state is None:
            state = _STATE[cls] = _slot_reader(cls) if issubclass(cls, exp.Expr) else False
        if state is False:
            return NotImplemented
        names, read = state
        try:
            slots = dict(zip(names, read(obj), strict=True))
        except AttributeError:  # a slot never set
            slots = {name: getattr(obj, name) for name in names if hasattr(obj, name)}
        # The cached hash is of this process's string hashes: computed again when needed.
        slots["_hash"] = None
        # A node's __dict__ is almost always empty (reading it makes one): stored only when
        # it holds something.
        return copyreg.__newobj__, (cls,), (getattr(obj, "__dict__", None) or None, slots)


# Per type: False for one pickled as usual, else a sqlglot node's slots (but `_hash`) and
# a reader of their values.
_STATE: dict[type, tuple[tuple[str, ...], Callable[[object], tuple]] | bool] = {}


def _slot_reader(cls: type) -> tuple[tuple[str, ...], Callable[[object], tuple]]:
    names = tuple(name for name in _slots(cls) if name != "_hash")
    if len(names) == 1:
        getter = operator.attrgetter(names[0])
        return names, lambda obj: (getter(obj),)
    return names, operator.attrgetter(*names) if names else lambda obj: ()


_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(cls: type) -> tuple[str, ...]:
    if cls not in _SLOTS:
        names = [name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())]
        _SLOTS[cls] = tuple(dict.fromkeys(name for name in names if name != "__dict__"))
    return _SLOTS[cls]


@contextmanager
def _deep_recursion() -> Iterator[None]:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


@contextmanager
def _unpickling() -> Iterator[None]:
    with _deep_recursion(), long_lived():
        yield


@contextmanager
def long_lived() -> Iterator[None]:
    """For making what lives as long as the process: the graph (compiling and writing
    it, or reading it) and the definitions built from it. Many objects and (almost)
    none garbage: collecting meanwhile only rescans them (unpickling took three times
    as long at 10,000 objects, compiling a fifth longer, pickling twice as long, and
    Dagster's building of the definitions a quarter longer), so the collector is paused
    and what was made is then moved out of its sight. Nested blocks freeze at each end;
    the outermost one resumes the collector."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
