"""Reading an export file record by record, with the line each record starts on.

A file is one of:
- a JSON array of records (`[{…}, {…}]`);
- one list-response page of the source system: an object whose records are under `data` (Stripe,
  LuniPay, cstar, the EVM platform, StellarTools, this service) or `customers` (BillStack); a page
  whose `data` / `customer` is a single object is that one record;
- JSON lines: one record per line (a line may also be a whole page, so concatenated pages work).

Arrays and pages are read incrementally (a window of the file, not the whole of it), JSON lines line
by line, so memory does not grow with the file: it is bounded by the largest record (or line), and a
value over MAX_VALUE (64 MiB) stops the read. A JSON-lines line that is not JSON is yielded as a
`Malformed` record (the import reports it and goes on); a broken array or page stops the read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

LIST_KEYS = ("data", "customers")  # where a page keeps its records
SINGLE_KEYS = ("data", "customer")  # where a single-object response keeps its record
CHUNK = 1 << 20
# One JSON value (a record, or a page's head) is decoded whole: memory is bounded by the largest one.
MAX_VALUE = 64 << 20
_WHITESPACE = " \t\r\n"


class FileError(Exception):
    """The file is not a JSON array, a list page or JSON lines (the message says where)."""


@dataclass(frozen=True)
class Malformed:
    """A JSON-lines line that is not a JSON object."""

    reason: str


@dataclass(frozen=True)
class SourceRecord:
    line: int
    record: dict[str, Any] | Malformed


class _Window:
    """A sliding window over a text file: `raw_decode` at a position, refilled as needed, with the
    line number of any position still in the window."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.buf = ""
        self.pos = 0
        self.eof = False
        self._counted = (0, 1)  # a position in buf, and its line number: lines are counted onwards from it
        self._fill()
        if self.buf.startswith("\ufeff"):
            self.pos = 1

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        if len(self.buf) - self.pos + len(chunk) > MAX_VALUE:
            raise FileError(f"line {self.line()}: a JSON value larger than {MAX_VALUE >> 20} MiB, or one that "
                            f"never ends")
        # Drop what has been consumed, counting its lines.
        self._counted = (0, self.line())
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0
        return True

    def line(self) -> int:
        """The line number of `pos` (counted from the last position asked about, not from the start)."""
        at, line = self._counted
        if self.pos != at:
            line += self.buf.count("\n", at, self.pos) if self.pos > at else -self.buf.count("\n", self.pos, at)
            self._counted = (self.pos, line)
        return line

    def skip_space(self) -> str:
        """The next non-whitespace character (consumed up to it, not past it), '' at the end."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        if self.skip_space() != char:
            got = self.skip_space() or "the end of the file"
            raise FileError(f"line {self.line()}: expected '{char}', found {got!r}")
        self.pos += 1

    def value(self) -> Any:
        self.skip_space()
        decoder = json.JSONDecoder()
        while True:
            try:
                value, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._fill():  # perhaps only cut off by the window: read more and try again
                    continue
                raise FileError(f"line {self.line()}: not valid JSON ({exc.msg})") from None
            # A number or literal ending exactly at the window's edge may continue in the next chunk.
            if end == len(self.buf) and not isinstance(value, dict | list | str) and self._fill():
                continue
            self.pos = end
            return value


def _array(window: _Window) -> Iterator[SourceRecord]:
    window.expect("[")
    if window.skip_space() == "]":
        window.pos += 1
        return
    while True:
        line = window.line() if window.skip_space() else 0
        yield from _records_of(window.value(), line)
        nxt = window.skip_space()
        if nxt == ",":
            window.pos += 1
            continue
        if nxt == "]":
            window.pos += 1
            return
        raise FileError(f"line {window.line()}: expected ',' or ']' in the array")


def _records_of(value: Any, line: int) -> Iterator[SourceRecord]:
    """A decoded JSON value as records: a page's records, a wrapped single record, or itself."""
    if isinstance(value, dict):
        for key in LIST_KEYS:
            if isinstance(value.get(key), list):
                for item in value[key]:
                    yield _record(item, line)
                return
        for key in SINGLE_KEYS:
            inner = value.get(key)
            if isinstance(inner, dict) and ("success" in value or key == "customer"):
                yield _record(inner, line)
                return
    yield _record(value, line)


def _record(value: Any, line: int) -> SourceRecord:
    if not isinstance(value, dict):
        return SourceRecord(line, Malformed(f"a record must be a JSON object, not {type(value).__name__}"))
    return SourceRecord(line, value)


def _document(window: _Window) -> Iterator[SourceRecord]:
    """One JSON object spread over several lines: a page (its list read element by element), or a
    single record."""
    start_line = window.line()
    window.expect("{")
    head: dict[str, Any] = {}
    found_list = False
    if window.skip_space() == "}":
        window.pos += 1
    else:
        while True:
            key = window.value()
            if not isinstance(key, str):
                raise FileError(f"line {window.line()}: expected a key")
            window.expect(":")
            if key in LIST_KEYS and not found_list and window.skip_space() == "[":
                found_list = True
                yield from _array(window)
            else:
                head[key] = window.value()
            nxt = window.skip_space()
            window.pos += 1
            if nxt == "}":
                break
            if nxt != ",":
                raise FileError(f"line {window.line()}: expected ',' or '}}' in the object")
    if window.skip_space():
        raise FileError(f"line {window.line()}: unexpected content after the JSON document")
    if not found_list:
        yield from _records_of(head, start_line)


def read_records(path: Path) -> Iterator[SourceRecord]:
    """Every record of the file, in order, each with the line it starts on."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        window = _Window(handle)
        first = window.skip_space()
        if first == "":
            return
        if first == "[":
            yield from _array(window)
            if window.skip_space():
                raise FileError(f"line {window.line()}: unexpected content after the JSON array")
            return
        if first != "{":
            raise FileError(f"line {window.line()}: expected a JSON array, a list page or JSON lines")
        if _first_line_is_json(window):
            yield from _lines(window)
        else:
            yield from _document(window)


def _first_line_is_json(window: _Window) -> bool:
    """JSON lines when the first non-empty line is a whole JSON value by itself. A first line longer
    than any value may be (a whole page on one line, with nothing after it) is read as a document."""
    while window.buf.find("\n", window.pos) < 0:
        if len(window.buf) - window.pos + CHUNK > MAX_VALUE or not window._fill():
            break
    end = window.buf.find("\n", window.pos)
    if end < 0 and not window.eof:
        return False
    first = window.buf[window.pos:end if end >= 0 else len(window.buf)]
    try:
        json.loads(first)
    except json.JSONDecodeError:
        return False
    return True


def _lines(window: _Window) -> Iterator[SourceRecord]:
    number = window.line()
    pending = window.buf[window.pos:]
    while True:
        parts = pending.split("\n")
        pending = parts.pop()
        for text in parts:
            yield from _line(text, number)
            number += 1
        chunk = window.handle.read(CHUNK)
        if not chunk:
            break
        if len(pending) + len(chunk) > MAX_VALUE:
            raise FileError(f"line {number}: a line longer than {MAX_VALUE >> 20} MiB")
        pending += chunk
    yield from _line(pending, number)


def _line(text: str, number: int) -> Iterator[SourceRecord]:
    if not text.strip():
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        yield SourceRecord(number, Malformed(f"not valid JSON ({exc.msg} at column {exc.colno})"))
        return
    yield from _records_of(value, number)
