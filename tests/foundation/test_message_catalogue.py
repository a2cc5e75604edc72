"""Every sentence the API may put in `message` has its Russian translation, with the same placeholders.

The sentences are found in the code itself: each domain error raised in app/ (the English message id it is
given, also through a helper's parameter, a module constant or a table of them), the JWT and rate-limit
messages and the HTTP errors' own sentences. A message written as an f-string fails: its varying parts go
in `params`, or the catalogue could never hold it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import app as app_package
from app.common.i18n import TERMS
from app.common.ru import RU
from app.errors import HTTP_MESSAGES, DomainError

APP_DIR = Path(app_package.__file__).parent
# Calls that put their argument at this position (or keyword) into an error's `message`.
SINKS = {"error_response": 1, "human_message": 0}
SINK_KEYWORDS = {"message", "error_message"}
RENDERING = {APP_DIR / "errors.py", APP_DIR / "common" / "api.py"}


def _domain_errors() -> tuple[dict[str, int], set[str]]:
    """The domain error classes (by name) whose constructor takes the message first; the names of all of them."""
    found, every, todo = {}, set(), [DomainError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        every.add(cls.__name__)
        if list(inspect.signature(cls.__init__).parameters)[1:2] == ["message"]:
            found[cls.__name__] = 0
    return found, every


@dataclass
class Module:
    path: Path
    tree: ast.Module
    values: dict
    parents: dict = field(default_factory=dict)


def _modules() -> Iterator[Module]:
    for path in sorted(APP_DIR.rglob("*.py")):
        name = ".".join(path.relative_to(APP_DIR.parent).with_suffix("").parts).removesuffix(".__init__")
        if name == "app.jobs.cron":  # builds an app at import; it raises no errors of its own
            continue
        tree = ast.parse(path.read_text())
        module = Module(path, tree, vars(importlib.import_module(name)))
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                module.parents[child] = node
        yield module


def _sentences(value) -> Iterator[str]:
    """The sentences in a module-level value: a string, or the strings with a space in a table of them."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from (s for s in _sentences(item) if " " in s)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from (s for s in _sentences(item) if " " in s)


def _enclosing_function(module: Module, node: ast.AST) -> ast.FunctionDef | ast.Lambda | None:
    while node in module.parents:
        node = module.parents[node]
        if isinstance(node, ast.FunctionDef | ast.Lambda):
            return node
    return None


class Walk:
    def __init__(self) -> None:
        self.found: dict[str, str] = {}  # sentence → where
        self.problems: list[str] = []
        # (module, function name, position, parameter): a helper that passes its parameter on as a message
        self.carriers: set[tuple[Path, str, int, str]] = set()

    def resolve(self, module: Module, node: ast.AST, expr: ast.AST) -> None:
        where = f"{module.path.relative_to(APP_DIR.parent)}:{expr.lineno}"
        if module.path in RENDERING and not isinstance(expr, ast.Constant | ast.Subscript):
            return  # the edge renders what others raised (error.message, an HTTP error's sentence)
        if isinstance(expr, ast.Constant) and expr.value is None:
            return
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            self.found.setdefault(expr.value, where)
        elif isinstance(expr, ast.JoinedStr):
            self.problems.append(f"{where}: an f-string message; put its varying parts in params")
        elif isinstance(expr, ast.BoolOp):
            for value in expr.values:
                self.resolve(module, node, value)
        elif isinstance(expr, ast.IfExp):
            self.resolve(module, node, expr.body)
            self.resolve(module, node, expr.orelse)
        elif isinstance(expr, ast.Subscript):
            self.resolve(module, node, expr.value)
        elif isinstance(expr, ast.Name):
            self._name(module, node, expr, where)
        elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in module.values:
            for sentence in _sentences(getattr(module.values[expr.value.id], expr.attr, None)):  # otp.REQUESTED
                self.found.setdefault(sentence, where)
        else:
            self.problems.append(f"{where}: cannot tell which message {ast.unparse(expr)!r} is")

    def _name(self, module: Module, node: ast.AST, expr: ast.Name, where: str) -> None:
        function = _enclosing_function(module, node)
        if function is not None:
            params = [a.arg for a in function.args.args + function.args.kwonlyargs]
            if expr.id in params:
                positional = [a.arg for a in function.args.args]
                position = positional.index(expr.id) if expr.id in positional else -1
                self.carriers.add((module.path, getattr(function, "name", "<lambda>"), position, expr.id))
                return
            assigned = [
                n.value
                for n in ast.walk(function)
                if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)
            ] + [  # for ..., text in TABLE.items(): the table
                n.iter.func.value if isinstance(n.iter, ast.Call) and isinstance(n.iter.func, ast.Attribute) else n.iter
                for n in ast.walk(function)
                if isinstance(n, ast.For)
                and any(isinstance(t, ast.Name) and t.id == expr.id for t in ast.walk(n.target))
            ]
            if assigned:
                for value in assigned:
                    self.resolve(module, value, value)
                return
        if expr.id in module.values:
            for sentence in _sentences(module.values[expr.id]):
                self.found.setdefault(sentence, where)
            return
        self.problems.append(f"{where}: cannot tell which message {expr.id!r} is")

    def message_argument(self, call: ast.Call, position: int, keyword: str) -> ast.AST | None:
        for given in call.keywords:
            if given.arg == keyword or (keyword == "*" and given.arg in SINK_KEYWORDS):
                return given.value
        return call.args[position] if 0 <= position < len(call.args) else None


def _enclosing_class(module: Module, node: ast.AST) -> str | None:
    while node in module.parents:
        node = module.parents[node]
        if isinstance(node, ast.ClassDef):
            return node.name
    return None


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def _calls_carrier(call: ast.Call, module: Module, carrier: tuple[Path, str, int, str]) -> bool:
    """`helper(...)` in the helper's module, or `module.helper(...)` anywhere."""
    path, function = carrier[:2]
    if isinstance(call.func, ast.Name):
        return call.func.id == function and module.path == path
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr == function
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == path.stem
    )


@pytest.fixture(scope="module")
def walk() -> Walk:
    modules = list(_modules())
    errors, every_error = _domain_errors()
    walk = Walk()
    for module in modules:
        for call in (n for n in ast.walk(module.tree) if isinstance(n, ast.Call)):
            if module.path in RENDERING and _enclosing_class(module, call) == "DomainError":
                continue
            name = _callee(call)
            position = errors.get(name, SINKS.get(name, -1))
            if name == "__init__" and _enclosing_class(module, call) in every_error:  # super().__init__(message)
                position = 0
            argument = walk.message_argument(call, position, "message" if position >= 0 else "*")
            if argument is not None:
                walk.resolve(module, call, argument)
    done: set = set()
    while walk.carriers - done:  # a helper's message parameter: what its callers pass
        carrier = (walk.carriers - done).pop()
        done.add(carrier)
        _, _, position, parameter = carrier
        for module in modules:
            for call in (n for n in ast.walk(module.tree) if isinstance(n, ast.Call)):
                if _calls_carrier(call, module, carrier):
                    argument = walk.message_argument(call, position, parameter)
                    if argument is not None:
                        walk.resolve(module, call, argument)
    for sentence in HTTP_MESSAGES.values():
        walk.found.setdefault(sentence, "app/errors.py HTTP_MESSAGES")
    return walk


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_is_found_in_the_code(walk):
    assert walk.problems == []
    # The walk does find them: a step conflict, a helper's default, a constant, a table, a JWT and a limiter message.
    for sentence in (
        "The delivery is “{status}”, so it cannot become “{target}” now; reload it to see its next step.",
        "This delivery was given to another courier; reload your deliveries.",
        "Wrong phone, e-mail or password.",
        "The delivery window is full; choose another one.",
        "The token has expired; refresh it or log in again.",
        "Too many attempts; wait before trying again.",
    ):
        assert sentence in walk.found


def test_every_message_has_a_russian_translation(walk):
    missing = {sentence: where for sentence, where in walk.found.items() if sentence not in RU}
    assert missing == {}


def test_translations_keep_the_placeholders_and_are_russian(walk):
    for english, russian in RU.items():
        assert _placeholders(russian) == _placeholders(english), english
        assert any("а" <= letter.lower() <= "я" for letter in russian), english


def test_the_catalogue_holds_only_messages_in_use(walk):
    assert set(RU) - set(walk.found) == set()


def test_every_status_has_a_word_in_both_languages():
    assert set(TERMS["ru"]) == set(TERMS["en"])
