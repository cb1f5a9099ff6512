"""``ams publish``: messages from arguments, stdin lines or a JSON Lines stream, read once.

The input (a file, ``-``, ``/dev/stdin``, a FIFO, a process substitution ``<(...)``) is opened
once and read incrementally; nothing is stat-ed or re-opened, so streams work like files. Lines
are parsed and published in batches: a bad line stops the run before its batch is sent, and the
error says which lines were published and how to resume (``--skip N``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import select
import sys
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Callable, Dict, Iterator, List, Optional, Tuple

from pymod.amsexceptions import AmsConnectionException, AmsException, AmsPublishException
from pymod.amsmsg import AmsMessage, check_attributes
from pymod.cli.common import (
    CliError,
    connection_hint,
    error_text,
    key_value,
    non_negative_int,
    positive_int,
    print_json,
)
from pymod.cli.progress import Progress, isatty

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService

#: Keys of ``ams consume``/``ams pull`` records that are not part of a message to publish.
RECORD_KEYS = ("ackId", "messageId", "publishTime")
#: With ``--keep-ids`` they become attributes with this prefix.
KEEP_PREFIX = "original_"
#: Seconds without new input after which a partial batch is published (streams, e.g. a pipe
#: from ``ams consume --follow``).
IDLE_FLUSH = 0.5
_READ_SIZE = 1 << 16

Numbered = Tuple[int, AmsMessage]


def add_parser(commands: Any, sub: Callable[..., argparse.ArgumentParser]) -> None:
    """The ``publish`` command."""
    p = sub(commands, "publish", "publish messages (from arguments, stdin lines or a JSONL file)",
            epilog='File format (--file): one JSON object per line, {"data": "text", '
                   '"attributes": {"k": "v"}} or {"data_b64": "<base64>"} for binary payloads; '
                   "the output of 'ams consume' is accepted as it is (its ackId, messageId and "
                   "publishTime are ignored, or kept as attributes with --keep-ids).")
    p.add_argument("topic")
    p.add_argument("data", nargs="*", metavar="DATA",
                   help="message payloads (UTF-8 text); '-' reads one message per stdin line")
    p.add_argument("--file", metavar="FILE.jsonl",
                   help="read messages from a JSON Lines file; '-' (or /dev/stdin, a FIFO, "
                        "<(command)) reads a stream, once")
    p.add_argument("--attr", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                   help="attribute for DATA/stdin messages (repeatable)")
    p.add_argument("--batch", type=positive_int, default=500,
                   help="messages per publish request (default 500)")
    p.add_argument("--skip", type=non_negative_int, default=0, metavar="N",
                   help="skip the first N input lines (to resume after a failure)")
    p.add_argument("--keep-ids", action="store_true",
                   help=f"keep ackId/messageId/publishTime of 'ams consume' records as attributes "
                        f"({KEEP_PREFIX}messageId ...)")
    p.add_argument("--dry-run", action="store_true",
                   help="read and check every line, publish nothing")
    p.add_argument("--progress", action="store_true",
                   help="show a message counter on stderr (default: when stderr is a terminal)")
    p.set_defaults(func=cmd_publish, resource="topic", resource_arg="topic")


# ---- reading ---------------------------------------------------------------------------------
def _binary(stream: IO[Any]) -> Optional[BinaryIO]:
    """The binary side of a text stream such as ``sys.stdin``, if it has one."""
    buffer = getattr(stream, "buffer", None)
    return buffer if buffer is not None else None


def read_lines(fh: Any, on_idle: Optional[Callable[[], None]] = None) -> Iterator[Tuple[int, bytes]]:
    """``(line number, line without its end)`` for each line of ``fh``, read once, incrementally.

    On POSIX, when ``fh`` is backed by a file descriptor and no input arrives for
    :data:`IDLE_FLUSH` seconds, ``on_idle()`` is called before waiting on (so a partial batch
    goes out while a slow producer pauses).
    """
    try:
        fd: Optional[int] = fh.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    number = 0
    if fd is None:  # a file object without a descriptor (tests, wrappers): plain iteration
        for raw in fh:
            number += 1
            line = raw.encode("utf-8") if isinstance(raw, str) else raw
            yield number, line.rstrip(b"\r\n")
        return
    pending = bytearray()
    while True:
        if on_idle is not None and os.name == "posix":
            readable, _, _ = select.select([fd], [], [], IDLE_FLUSH)
            if not readable:
                on_idle()
        data = os.read(fd, _READ_SIZE)
        if not data:
            break
        pending += data
        start = 0
        while True:
            end = pending.find(b"\n", start)
            if end < 0:
                break
            number += 1
            yield number, bytes(pending[start:end]).rstrip(b"\r")
            start = end + 1
        del pending[:start]
    if pending:
        number += 1
        yield number, bytes(pending).rstrip(b"\r")


def parse_line(where: str, raw: bytes, keep_ids: bool) -> Optional[AmsMessage]:
    """The message of one JSON Lines line (None for a blank line).

    Raises:
        CliError: not UTF-8, not JSON, not an object, unknown keys, bad values (``where`` says
            which line).
    """
    try:
        line = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise CliError(f"{where}: not UTF-8 text") from None
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CliError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise CliError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - {"data", "data_b64", "attributes", *RECORD_KEYS}
    if unknown:
        raise CliError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                       "(use data, data_b64, attributes)")
    if "data" in obj and "data_b64" in obj:
        raise CliError(f"{where}: give data or data_b64, not both")
    try:
        attributes = check_attributes(obj.get("attributes"))
    except AmsException as exc:
        raise CliError(f"{where}: {exc}") from None
    if keep_ids:
        for key in RECORD_KEYS:
            if key not in obj:
                continue
            name = KEEP_PREFIX + key
            if name in attributes:
                raise CliError(f"{where}: --keep-ids: the attribute {name} exists already")
            value = obj[key]
            attributes[name] = value if isinstance(value, str) else json.dumps(value)
        try:
            check_attributes(attributes)
        except AmsException as exc:
            raise CliError(f"{where}: --keep-ids: {exc}") from None
    if "data_b64" in obj:
        encoded = obj["data_b64"]
        if not isinstance(encoded, str):
            raise CliError(f"{where}: data_b64 must be a string")
        try:
            payload: bytes = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise CliError(f"{where}: data_b64 is not valid Base64") from None
        return AmsMessage(data=payload, attributes=attributes)
    data = obj.get("data")
    if data is None and not attributes:
        raise CliError(f"{where}: a message needs data, data_b64 or attributes")
    if data is not None and not isinstance(data, str):
        raise CliError(f"{where}: data must be a string (use data_b64 for binary payloads)")
    return AmsMessage(data=data, attributes=attributes)


def _open(path: str) -> Tuple[Any, bool]:
    """``(binary file object, whether to close it)`` for ``--file``; ``-`` is stdin."""
    if path == "-":
        stdin = sys.stdin
        return (_binary(stdin) or stdin), False
    try:
        return open(path, "rb"), True  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


# ---- publishing ------------------------------------------------------------------------------
class _Run:
    """One ``ams publish``: batches, counters, and the report of what was not published."""

    def __init__(self, args: argparse.Namespace, ams: Optional[ArgoMessagingService],
                 progress: Progress) -> None:
        self.args = args
        self.ams = ams
        self.progress = progress
        self.unit = "line" if args.file else "message"
        self.chunk: List[Numbered] = []
        self.published = 0
        self.last_done = args.skip  # input lines up to here are published (or skipped)
        self.first_id = self.last_id = ""

    def add(self, number: int, msg: AmsMessage) -> None:
        self.chunk.append((number, msg))
        if len(self.chunk) >= self.args.batch:
            self.flush()

    def flush(self) -> None:
        if not self.chunk:
            return
        if self.ams is None:  # --dry-run
            self.published += len(self.chunk)
            self.last_done = self.chunk[-1][0]
            self.chunk.clear()
            return
        try:
            ids = self.ams.publish(self.args.topic, [m for _, m in self.chunk])["messageIds"]
        except AmsException as exc:
            done = len(exc.published_ids) if isinstance(exc, AmsPublishException) else 0
            self.published += done
            self.progress.update(done)
            cause = exc.cause if isinstance(exc, AmsPublishException) else exc
            error = self.failure(self.chunk[done][0], f"topic {self.args.topic!r}: {error_text(cause)}",
                                 code=1, maybe_stored=isinstance(cause, AmsConnectionException))
            error.hint = connection_hint(cause)
            raise error from None
        if ids:
            self.first_id = self.first_id or ids[0]
            self.last_id = ids[-1]
        self.published += len(ids)
        self.last_done = self.chunk[-1][0]
        self.progress.update(len(ids))
        self.chunk.clear()

    def failure(self, first_missing: int, reason: str, *, code: int,
                maybe_stored: bool = False) -> CliError:
        """The error after ``reason``: what was published, from where nothing was."""
        args = self.args
        if args.dry_run:
            return CliError(reason, code=code)
        if not self.published and first_missing == args.skip + 1:
            return CliError(f"{reason}; nothing was published", code=code)
        text = (f"{reason}; published {self.published} message(s)"
                + (f" ({self.unit}s up to {self.last_done})" if self.published else "")
                + f"; not published: {self.unit} {first_missing} and everything after it")
        if maybe_stored:
            text += " (the server may have stored some of the failed batch: duplicates)"
        return CliError(f"{text}; resume with --skip {first_missing - 1}"
                        + (" (the same input)" if args.file else ""), code=code)


def _file_source(args: argparse.Namespace, run: _Run) -> Iterator[Numbered]:
    fh, close = _open(args.file)
    try:
        for number, raw in read_lines(fh, on_idle=run.flush if not args.dry_run else None):
            if number <= args.skip:
                continue
            try:
                msg = parse_line(f"{args.file} line {number}", raw, args.keep_ids)
            except CliError as exc:
                run.chunk.clear()  # nothing of a batch with a bad line is sent
                raise run.failure(run.last_done + 1, str(exc), code=2) from None
            if msg is not None:
                yield number, msg
    finally:
        if close:
            fh.close()


def _arg_source(args: argparse.Namespace, run: _Run) -> Iterator[Numbered]:
    attributes = dict(args.attr)
    try:
        check_attributes(attributes)
    except AmsException as exc:
        raise CliError(f"--attr: {exc}") from None
    number = 0
    for item in args.data:
        if item != "-":
            number += 1
            if number > args.skip:
                yield number, AmsMessage(data=item, attributes=attributes)
            continue
        stdin = sys.stdin
        for _, raw in read_lines(_binary(stdin) or stdin, on_idle=run.flush):
            number += 1
            if number <= args.skip:
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                run.chunk.clear()  # nothing of a batch with a bad line is sent
                raise run.failure(run.last_done + 1, f"stdin line {number - _data_before(args)}: "
                                  "not UTF-8 text", code=2) from None
            yield number, AmsMessage(data=text, attributes=attributes)


def _data_before(args: argparse.Namespace) -> int:
    return int(args.data.index("-"))


def cmd_publish(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST .../topics/{topic}:publish`` in requests of ``--batch`` messages."""
    if args.file and args.data:
        raise CliError("give DATA arguments or --file, not both")
    if not args.file and not args.data:
        raise CliError("nothing to publish: give DATA arguments, '-' for stdin, or --file")
    if args.file and args.attr:
        raise CliError("--attr applies to DATA/stdin messages; put attributes in the file")
    progress = Progress("dry run" if args.dry_run else "published", sys.stderr,
                        args.progress or isatty(sys.stderr))
    run = _Run(args, None if args.dry_run else ams, progress)
    source = _file_source(args, run) if args.file else _arg_source(args, run)
    try:
        for number, msg in source:
            run.add(number, msg)
        run.flush()
    finally:
        progress.close()
    summary: Dict[str, Any] = {"topic": args.topic, "published": run.published,
                               "firstId": run.first_id, "lastId": run.last_id}
    if args.skip:
        summary["skipped"] = args.skip
    if args.dry_run:
        print(f"dry run: {run.published} valid message(s), nothing published", file=out)
    elif args.json:
        print_json(summary, out)
    elif run.published == 0:
        print(f"nothing published: {args.file or 'the input'} held no messages"
              + (f" after the {args.skip} skipped line(s)" if args.skip else ""), file=out)
    else:
        ids = run.first_id if run.first_id == run.last_id else f"{run.first_id}..{run.last_id}"
        print(f"published {run.published} message(s) to {args.topic} (ids {ids})", file=out)
    return 0
