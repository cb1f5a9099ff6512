"""The code examples of the documentation (``docs/**/*.rst``) are valid and use the real API.

* Every ``.. code-block:: python`` and every ``testsetup``/``testcode``/``testcleanup`` block
  compiles.
* Every ``ams.<name>(...)`` call in them names a method of :class:`ArgoMessagingService`, every
  ``emu.<name>`` an attribute of :class:`pymod.emulator.Emulator`, and every
  ``from pymod... import X`` / ``from argo_ams_library... import X`` imports a name that exists.
* The ``testcode`` blocks run against pymod's emulator, page by page, with the same global setup
  as ``sphinx -b doctest`` (``docs/conf.py``), and print what their ``testoutput`` blocks say.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import importlib
import io
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from pymod import ArgoMessagingService

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. (?P<name>[\w-]+)::\s*(?P<arg>.*)$")
_KINDS = {"code-block", "testsetup", "testcode", "testcleanup", "testoutput"}


@dataclass
class Block:
    """One code block of a page."""

    doc: str
    line: int
    kind: str
    arg: str
    code: str
    options: Dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"docs/{self.doc}:{self.line}"

    @property
    def is_python(self) -> bool:
        if self.kind == "code-block":
            return self.arg.strip() in ("python", "python3", "py")
        return self.kind in ("testsetup", "testcode", "testcleanup")


def _blocks(path: Path) -> List[Block]:
    """The code blocks of one reST file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    doc = path.relative_to(DOCS).as_posix()
    out: List[Block] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match or match.group("name") not in _KINDS:
            i += 1
            continue
        start = i + 1
        indent = len(match.group("indent"))
        i += 1
        options: Dict[str, str] = {}
        while i < len(lines) and re.match(r"^\s+:[\w-]+:", lines[i]):
            key, _, value = lines[i].strip()[1:].partition(":")
            options[key] = value.strip()
            i += 1
        body: List[str] = []
        while i < len(lines):
            line = lines[i]
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            body.append(line)
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        out.append(Block(doc, start, match.group("name"), match.group("arg"), code, options))
    return out


def _pages() -> List[Path]:
    return sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)


ALL_BLOCKS = [block for page in _pages() for block in _blocks(page)]
PYTHON_BLOCKS = [block for block in ALL_BLOCKS if block.is_python]


def test_docs_have_examples() -> None:
    assert len(PYTHON_BLOCKS) > 20
    assert any(block.kind == "testcode" for block in PYTHON_BLOCKS)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_block_compiles(block: Block) -> None:
    try:
        compile(block.code, block.where, "exec")
    except SyntaxError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{block.where}: {exc}")


def _attribute_uses(tree: ast.AST, name: str) -> Iterator[ast.Attribute]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
        ):
            yield node


def _assigned_attributes(tree: ast.AST, name: str) -> set:
    """Attributes that the example itself assigns (``ams.token = ...``)."""
    return {
        node.attr
        for node in _attribute_uses(tree, name)
        if isinstance(node.ctx, ast.Store)
    }


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_client_methods_exist(block: Block) -> None:
    tree = ast.parse(block.code)
    for node in _attribute_uses(tree, "ams"):
        if isinstance(node.ctx, ast.Store):
            continue
        assert hasattr(ArgoMessagingService, node.attr) or node.attr in (
            "project", "token", "pullopts", "endpoint", "timeout", "retry_policy",
            "max_message_bytes", "max_request_bytes", "max_request_messages", "authn_port",
        ), f"{block.where}: ams.{node.attr} is not an attribute of ArgoMessagingService"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_emulator_attributes_exist(block: Block) -> None:
    emulator = pytest.importorskip("pymod.emulator")
    tree = ast.parse(block.code)
    for var in ("emu", "ams_emulator", "first", "second"):
        for node in _attribute_uses(tree, var):
            if var == "emu" or "Emulator" in block.code or var == "ams_emulator":
                assert hasattr(emulator.Emulator, node.attr) or node.attr in (
                    "project", "admin_token", "port", "authn_port", "data_dir", "push_enabled",
                    "max_message_bytes", "log_level", "push_ca",
                ), f"{block.where}: {var}.{node.attr} is not an attribute of Emulator"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_imported_names_exist(block: Block) -> None:
    tree = ast.parse(block.code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
            node.module.split(".")[0] in ("pymod", "argo_ams_library")
        ):
            if node.module.startswith("pymod.emulator"):
                pytest.importorskip("starlette")
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), (
                    f"{block.where}: {node.module} has no {alias.name}"
                )


# ---- running the testcode blocks against the emulator ---------------------------------------
def _doctest_config() -> Dict[str, str]:
    """``doctest_global_setup``/``_cleanup`` of docs/conf.py (the single source of truth)."""
    namespace: Dict[str, object] = {"__file__": str(DOCS / "conf.py"), "__name__": "conf"}
    exec(compile((DOCS / "conf.py").read_text(encoding="utf-8"), "docs/conf.py", "exec"),
         namespace)
    return {
        "setup": str(namespace.get("doctest_global_setup", "")),
        "cleanup": str(namespace.get("doctest_global_cleanup", "")),
    }


RUNNABLE_DOCS = sorted({b.doc for b in ALL_BLOCKS if b.kind == "testcode"})

_FLAGS = {
    "+ELLIPSIS": doctest.ELLIPSIS,
    "+NORMALIZE_WHITESPACE": doctest.NORMALIZE_WHITESPACE,
}


def _flags(block: Optional[Block]) -> int:
    flags = doctest.ELLIPSIS  # Sphinx's default doctest flags include ELLIPSIS
    if block is not None:
        for option in re.split(r"[,\s]+", block.options.get("options", "")):
            flags |= _FLAGS.get(option, 0)
    return flags


@pytest.fixture(scope="module")
def docs_support() -> Iterator[object]:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    pytest.importorskip("trustme")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        module = importlib.import_module("docs_support")
        yield module
        module.shutdown()
    finally:
        sys.path.remove(str(DOCS / "_ext"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("doc", RUNNABLE_DOCS)
def test_testcode_runs_against_emulator(doc: str, docs_support: object) -> None:
    blocks = [b for b in ALL_BLOCKS if b.doc == doc]
    config = _doctest_config()
    namespace: Dict[str, object] = {"__name__": "__docs__"}
    exec(compile(config["setup"], "doctest_global_setup", "exec"), namespace)
    checker = doctest.OutputChecker()
    try:
        for block in blocks:
            if block.kind == "testsetup":
                exec(compile(block.code, block.where, "exec"), namespace)
        for index, block in enumerate(blocks):
            if block.kind != "testcode":
                continue
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            expected = following if following and following.kind == "testoutput" else None
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(block.code, block.where, "exec"), namespace)
            if expected is not None:
                want, got = expected.code, out.getvalue()
                assert checker.check_output(want, got, _flags(expected)), (
                    f"{block.where}: output differs\n--- expected\n{want}--- got\n{got}"
                )
    finally:
        for block in blocks:
            if block.kind == "testcleanup":
                exec(compile(block.code, block.where, "exec"), namespace)
        exec(compile(config["cleanup"], "doctest_global_cleanup", "exec"), namespace)


# ---- the ams command lines in the docs use commands and options that exist -----------------
_AMS_LITERAL = re.compile(r"``(ams [^`]+)``")
_AMS_CONSOLE = re.compile(r"^\s*\$ (ams .*)$", re.M)
_AMS_CRON = re.compile(r"(?:&&\s*|flock -n \S+\s+)(ams [^>|&\n]+)")
# connection options that take a value, accepted before the command
_VALUE_OPTIONS = ("--host", "--token", "--project", "--ca", "--cert", "--key", "--authn-port",
                  "--timeout")


def _ams_command_lines() -> List[tuple]:
    found = []
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        doc = page.relative_to(DOCS).as_posix()
        for pattern in (_AMS_LITERAL, _AMS_CONSOLE, _AMS_CRON):
            for match in pattern.finditer(text):
                line = match.group(1)
                for stop in ("|", ">", "&&", "#", ";"):
                    line = line.split(stop, 1)[0]
                found.append((doc, line.strip()))
    return sorted(set(found))


AMS_LINES = _ams_command_lines()


def test_docs_show_ams_commands() -> None:
    assert len(AMS_LINES) > 30


def _subparser(parser: object, words: List[str]) -> tuple:
    """``(parser, depth)``: the subcommand parser named by ``words`` and how many words named
    subcommands."""
    import argparse

    current, depth = parser, 0
    for word in words:
        actions = [a for a in current._actions  # type: ignore[attr-defined]
                   if isinstance(a, argparse._SubParsersAction)]
        if not actions:
            break
        assert word in actions[0].choices, f"unknown command {word!r}"
        current, depth = actions[0].choices[word], depth + 1
    return current, depth


@pytest.mark.parametrize("doc,line", AMS_LINES, ids=[f"{d}:{x}" for d, x in AMS_LINES])
def test_ams_command_line_exists(doc: str, line: str) -> None:
    cli = pytest.importorskip("pymod.cli")
    if "COMMAND" in line:  # a placeholder: "ams COMMAND --help"
        return
    tokens = [t for t in re.split(r"[\s\[\]]+", line) if t and t not in ("...", "\\")]
    assert tokens[0] == "ams"
    words = []
    for index, token in enumerate(tokens[1:], 1):
        if not token.startswith("-") and tokens[index - 1] not in _VALUE_OPTIONS:
            words.append(token)
    if words[:1] == ["emulator"]:
        from pymod.emulator.__main__ import build_parser as emulator_parser

        parser: object = emulator_parser()
    else:
        try:
            parser, depth = _subparser(cli.build_parser(), words)
        except AssertionError as exc:
            pytest.fail(f"docs/{doc}: {line!r}: {exc}")
        if words:
            groups = ("topics", "subs", "users", "projects")
            wanted = 2 if words[0] in groups and len(words) > 1 else 1
            assert depth == wanted, f"docs/{doc}: {line!r}: incomplete command"
    options = parser._option_string_actions  # type: ignore[attr-defined]
    for token in tokens[1:]:
        if token.startswith("-") and token != "-":
            flag = token.split("=", 1)[0]
            assert flag in options, f"docs/{doc}: {line!r}: {flag} is not an option"


# ---- keyword arguments of the main constructors exist -----------------------------------------
# Consumer passes unknown keywords on to ``requests`` (**reqkwargs), so a misspelt option would
# only fail at run time; the documented calls must use real parameter names.
_REQUESTS_KEYWORDS = {"timeout", "verify", "headers", "proxies", "cert", "stream"}


def _constructors() -> Dict[str, object]:
    from pymod import AmsMessage, AmsUser, AmsUserProject, RetryPolicy
    from pymod.consumer import Consumer, FileCheckpoint

    found: Dict[str, object] = {
        "ArgoMessagingService": ArgoMessagingService, "AmsMessage": AmsMessage,
        "AmsUser": AmsUser, "AmsUserProject": AmsUserProject, "RetryPolicy": RetryPolicy,
        "Consumer": Consumer, "FileCheckpoint": FileCheckpoint,
    }
    try:
        from pymod.emulator import Emulator, FaultConfig
    except ImportError:  # pragma: no cover - without the emulator extra
        return found
    found.update({"Emulator": Emulator, "FaultConfig": FaultConfig})
    return found


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_constructor_keywords_exist(block: Block) -> None:
    import inspect

    constructors = _constructors()
    for node in ast.walk(ast.parse(block.code)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in constructors):
            continue
        params = inspect.signature(constructors[node.func.id]).parameters  # type: ignore[arg-type]
        named = {n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
        for keyword in node.keywords:
            if keyword.arg is None or keyword.arg in named:
                continue
            assert keyword.arg in _REQUESTS_KEYWORDS and any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
            ), f"{block.where}: {node.func.id}() has no parameter {keyword.arg!r}"
