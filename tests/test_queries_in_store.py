"""Queries live in ``store/`` as named functions; database work leaves the event loop one way.

The rules, read from the source (no import of the modules checked):

- **No query construction outside store.** A module outside ``store/`` may import
  from SQLAlchemy only what it needs to hold and pass on what the store gives it:
  ``Session``, ``Connection``, ``Engine`` (types) and ``sqlalchemy.exc`` (errors to
  catch). Anything else (``select``, ``insert``, ``update``, ``delete``, ``text``,
  ``func``, ``or_``, dialect inserts, ``import sqlalchemy``) builds a statement,
  and a statement belongs in a named store function.
- **No statement execution outside store.** No ``.execute(``, ``.scalars(``,
  ``.scalar(``, ``.execution_options(`` call, nor ``<session>.query(``: a
  statement handed out by the store and run elsewhere is a query outside it.
  (Looking a row up by primary key, ``session.get(Site, id)``, and adding or
  deleting the ORM objects the store hands out are not counted: no statement is
  written there.)
- **One way off the event loop.** Database work runs in a thread only through
  ``store.dbthread.DbThread`` (``call``/``session`` on the writer thread,
  ``call_aside``/``session_aside`` beside it). A function handed to
  ``asyncio.to_thread``, ``run_in_executor`` or ``anyio``'s ``run_sync`` that opens
  a session or a transaction (``.session(``, ``.begin(``, ``.connect(``) in its own
  body is a second, untyped way. The function is found in the module itself or,
  imported by name, in the sitekeeper module it comes from; a method of an object
  from elsewhere is not followed (a file read handed to a thread is fine).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "sitekeeper"

# Files still holding queries that their owners are moving into store/ (issue 15, point 5).
# pending: H1/H2 move — shrink this at integration; a file listed here that is clean fails.
PENDING_QUERIES: dict[str, str] = {}
# Files still running database work in their own threads (see the third rule).
PENDING_THREADS: dict[str, str] = {}

TYPES_ONLY = {"sqlalchemy": {"Connection", "Engine"}, "sqlalchemy.orm": {"Session"}}
EXECUTING = {"execute", "scalars", "scalar", "execution_options"}
OPENING = {"session", "begin", "connect"}
THREADING = {"to_thread", "run_in_executor", "run_sync"}


def _sources() -> dict[str, ast.Module]:
    return {
        path.relative_to(SRC).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(SRC.rglob("*.py"))
    }


SOURCES = _sources()


def _outside_store() -> dict[str, ast.Module]:
    return {name: tree for name, tree in SOURCES.items() if not name.startswith("store/")}


def _receiver(node: ast.expr) -> str:
    """The last name of what a method is called on: ``self.db.session`` → ``db``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def query_hits(tree: ast.Module) -> list[str]:
    """Where ``tree`` builds or executes a statement, as ``line: what``."""
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            hits += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == "sqlalchemy"
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            if module.split(".")[0] != "sqlalchemy" or module.startswith("sqlalchemy.exc"):
                continue
            allowed = TYPES_ONLY.get(module, set())
            hits += [
                f"{node.lineno}: from {module} import {a.name}"
                for a in node.names
                if a.name not in allowed
            ]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in EXECUTING or (
                method == "query" and _receiver(node.func.value).endswith("session")
            ):
                hits.append(f"{node.lineno}: .{method}(")
    return hits


def _opens_database(body: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in OPENING
        for n in ast.walk(body)
    )


def _top_level_defs(tree: ast.Module) -> dict[str, list[ast.AST]]:
    return {n.name: [n] for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def thread_hits(tree: ast.Module) -> list[str]:
    """Where ``tree`` hands a function that opens a session or transaction to a thread.

    The function is looked up among the module's own definitions (methods and nested
    ones included) and, for a name imported ``from sitekeeper.x import f``, in ``x``.
    """
    defs: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sitekeeper."):
            source = SOURCES.get(str(node.module)[len("sitekeeper.") :].replace(".", "/") + ".py")
            imported = _top_level_defs(source) if source is not None else {}
            for alias in node.names:
                defs.setdefault(alias.asname or alias.name, []).extend(imported.get(alias.name, []))
    hits = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _receiver(node.func) in THREADING and node.args):
            continue
        # run_in_executor(pool, fn, ...) takes the function second.
        args = node.args[1:] if _receiver(node.func) == "run_in_executor" else node.args
        if not args:
            continue
        work = args[0]
        bodies: list[ast.AST] = (
            [work] if isinstance(work, ast.Lambda) else defs.get(_receiver(work), [])
        )
        if any(_opens_database(b) for b in bodies):
            hits.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
    return hits


def _check(scan: str, pending: dict[str, str]) -> tuple[list[str], list[str]]:
    finder = query_hits if scan == "queries" else thread_hits
    found = {name: finder(tree) for name, tree in _outside_store().items()}
    new = [f"{name}:{hit}" for name, hits in found.items() if name not in pending for hit in hits]
    cleaned = [name for name in pending if not found.get(name)]
    return new, cleaned


def test_no_queries_outside_store() -> None:
    new, cleaned = _check("queries", PENDING_QUERIES)
    assert new == [], "write these as named functions in store/ and call them"
    assert cleaned == [], "no queries left here: take it off PENDING_QUERIES"


def test_database_work_leaves_the_loop_through_dbthread() -> None:
    new, cleaned = _check("threads", PENDING_THREADS)
    assert new == [], "hand the store function to DbThread (store/dbthread.py) instead"
    assert cleaned == [], "no threads of its own left here: take it off PENDING_THREADS"


def test_inside_store_only_dbthread_starts_threads() -> None:
    # The store's own modules are plain functions of a session or connection; running
    # them off the loop is DbThread's job alone, so no store module keeps a thread pool.
    bad = [
        f"{name}:{node.lineno}"
        for name, tree in SOURCES.items()
        if name.startswith("store/") and name != "store/dbthread.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _receiver(node.func) in THREADING
    ]
    assert bad == []


def test_the_scans_see_the_code() -> None:
    # Guards the test itself: each rule must catch what it is about.
    queries = ast.parse(
        "from sqlalchemy import select, Connection\nfrom sqlalchemy.exc import IntegrityError\n"
        "def f(session):\n    session.execute(select(1)); session.query(X); scratch.query('x')"
    )
    assert [h.split(": ", 1)[1] for h in query_hits(queries)] == [
        "from sqlalchemy import select",
        ".execute(",
        ".query(",
    ]
    threads = ast.parse(
        "def work(db):\n    with db.session() as s: pass\n"
        "def read(path): return path.read_text()\n"
        "async def main(db, path):\n"
        "    await asyncio.to_thread(work, db)\n    await asyncio.to_thread(read, path)\n"
        "    await loop.run_in_executor(None, lambda: db.engine.begin())"
    )
    assert [h.split(": ", 1)[0] for h in thread_hits(threads)] == ["5", "7"]
    imported = ast.parse(
        "from sitekeeper.web.auth import viewer\n"
        "async def gate(request):\n    await to_thread.run_sync(viewer, request)"
    )
    assert len(thread_hits(imported)) == 1
    assert "store/dbthread.py" in SOURCES and "cli/serve.py" in SOURCES
