"""The few SQL pieces SQLite and PostgreSQL spell differently, as SQLAlchemy constructs compiled per dialect."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds (NULL when either is NULL)."""

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps timestamps as ISO text in UTC; julianday() reads them (to about 10 microseconds).
    later, earlier = list(element.clauses)
    return f"((julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    # date_part() is double precision; EXTRACT() became numeric in PostgreSQL 14, several times slower to sum.
    return f"date_part('epoch', ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 UTC of a stored timestamp (for time buckets: exact, unlike julianday())."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds)
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(strftime('%s', {compiler.process(value, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(floor(date_part('epoch', {compiler.process(value, **kw)})) AS BIGINT)"


class whole_part(FunctionElement[int]):
    """floor() of a non-negative number as an integer (SQLite's floor() is an optional build feature)."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "whole_part"


@compiles(whole_part)
def _whole_sqlite(element: whole_part, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST({compiler.process(value, **kw)} AS INTEGER)"


@compiles(whole_part, "postgresql")
def _whole_postgresql(element: whole_part, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"CAST(floor({compiler.process(value, **kw)}) AS BIGINT)"
