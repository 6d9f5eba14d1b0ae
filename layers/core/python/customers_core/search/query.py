"""Stripe's search query language, on the customer fields of api.md §6.

    query   := clause ((" " | " AND " | " OR ") clause)*      — AND or OR, not both; ≤ 10 clauses
    clause  := ["-"] field op value                           — a negated clause narrows, also in OR
    field   := email | name | phone | external_id | status | tag | created | metadata['<key>']
    op      := ":" (exact, case-insensitive) | "~" (word prefix, ≥ 2 chars) | > | < | >= | <= | = (created)
    value   := "…" or '…' (\\ escapes a quote or backslash) | digits (created only)

A syntax error raises QueryError with the 0-based position where it was found."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CLAUSES = 10
FIELDS = ("email", "name", "phone", "external_id", "status", "tag", "created", "metadata")
PREFIX_FIELDS = ("name", "email", "phone")
COMPARISONS = (">=", "<=", ">", "<", "=")
_IDENT = re.compile(r"[a-z_]+")
_WORD = re.compile(r"\w+", re.UNICODE)


class QueryError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.position = position


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: str
    negated: bool = False
    key: str | None = None  # metadata['key']
    position: int = 0


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    join: str  # "AND" or "OR"

    @property
    def positives(self) -> list[Clause]:
        return [c for c in self.clauses if not c.negated]

    @property
    def negatives(self) -> list[Clause]:
        return [c for c in self.clauses if c.negated]


def words(text: str) -> list[str]:
    """The words search indexes and matches: runs of letters and digits, lower-cased."""
    return _WORD.findall(text.lower())


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, position: int | None = None) -> QueryError:
        return QueryError(message, self.pos if position is None else position)

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def skip_spaces(self) -> int:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1
        return self.pos - start

    def quoted(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\":
                if self.pos + 1 >= len(self.text) or self.text[self.pos + 1] not in (quote, "\\"):
                    raise self.error("a backslash may only escape a quote or a backslash")
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == quote:
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise self.error("unterminated quoted value", start)

    def clause(self) -> Clause:
        start = self.pos
        negated = self.peek("-")
        if negated:
            self.pos += 1
        match = _IDENT.match(self.text, self.pos)
        if not match:
            raise self.error("expected a field name (email, name, phone, external_id, status, tag, created, "
                             "metadata['key'])")
        field = match.group()
        if field not in FIELDS:
            raise self.error(f"unknown field '{field}'")
        self.pos = match.end()
        key = None
        if field == "metadata":
            if not self.peek("["):
                raise self.error("expected [ after metadata, as in metadata['key']")
            self.pos += 1
            if self.pos >= len(self.text) or self.text[self.pos] not in "'\"":
                raise self.error("the metadata key must be quoted")
            key = self.quoted()
            if not self.peek("]"):
                raise self.error("expected ] after the metadata key")
            self.pos += 1
        op_start = self.pos
        op = next((o for o in (":", "~", *COMPARISONS) if self.peek(o)), None)
        if op is None:
            raise self.error("expected an operator (: ~ > < >= <= =)")
        self.pos += len(op)
        if field == "created" and op not in COMPARISONS:
            raise self.error("created takes > < >= <= or =", op_start)
        if field != "created" and op in COMPARISONS:
            raise self.error(f"'{op}' works on created only", op_start)
        if op == "~" and field not in PREFIX_FIELDS:
            raise self.error("~ (prefix) works on name, email and phone only", op_start)
        value_start = self.pos
        if self.pos < len(self.text) and self.text[self.pos] in "'\"":
            value = self.quoted()
        elif field == "created":
            digits = re.match(r"\d{1,10}", self.text[self.pos:])
            if not digits:
                raise self.error("created compares with a Unix timestamp")
            value = digits.group()
            self.pos += len(value)
        else:
            raise self.error("the value must be quoted, as in name:\"Ada\"")
        if field == "created" and not value.isdigit():
            raise self.error("created compares with a Unix timestamp", value_start)
        if op == "~" and len(value.strip()) < 2:
            raise self.error("a prefix (~) needs at least 2 characters", value_start)
        if op == "~" and field == "phone" and sum(ch.isdigit() for ch in value) < 2:
            raise self.error("a phone prefix (~) needs at least 2 digits", value_start)
        if op != "~" and field != "created" and not value.strip():
            raise self.error("the value is empty", value_start)
        return Clause(field, op, value, negated, key, start)

    def parse(self) -> Query:
        if not self.text.strip():
            raise self.error("the query is empty", 0)
        self.skip_spaces()
        clauses = [self.clause()]
        joins: set[str] = set()
        while True:
            spaces = self.skip_spaces()
            if self.pos >= len(self.text):
                break
            if not spaces:
                raise self.error("expected a space between clauses")
            join, join_at = "AND", self.pos
            for word in ("AND", "OR"):
                if self.peek(word + " "):
                    join = word
                    self.pos += len(word)
                    if not self.skip_spaces():
                        raise self.error(f"expected a clause after {word}")
            joins.add(join)
            if len(joins) > 1:
                raise self.error("a query joins its clauses with AND or with OR, not both (no parentheses)", join_at)
            if len(clauses) == MAX_CLAUSES:
                raise self.error(f"a query has at most {MAX_CLAUSES} clauses")
            clauses.append(self.clause())
        query = Query(tuple(clauses), joins.pop() if joins else "AND")
        if not query.positives:
            raise self.error("a query needs at least one clause that is not negated", 0)
        return query


def parse(text: str) -> Query:
    return _Parser(text).parse()
