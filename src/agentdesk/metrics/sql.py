"""The few SQL pieces SQLite and PostgreSQL spell differently, as SQLAlchemy constructs compiled per dialect."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement


def _spelled(function: type[FunctionElement[Any]], sqlite: str, postgresql: str) -> None:
    """Compile `function` to `sqlite` (the default dialect) or `postgresql`: templates whose `{0}`, `{1}`... are
    the function's arguments, compiled in place."""

    def spell(template: str) -> Any:
        def compile_(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
            return template.format(*(compiler.process(argument, **kw) for argument in element.clauses))

        return compile_

    compiles(function)(spell(sqlite))
    compiles(function, "postgresql")(spell(postgresql))


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds (NULL when either is NULL)."""

    type = sa.Float()
    inherit_cache = True
    name = "seconds_between"


_spelled(
    seconds_between,
    # SQLite keeps timestamps as ISO text in UTC; julianday() reads them (to about 10 microseconds).
    sqlite="((julianday({0}) - julianday({1})) * 86400.0)",
    # date_part() is double precision; EXTRACT() became numeric in PostgreSQL 14, several times slower to sum.
    postgresql="date_part('epoch', ({0} - {1}))",
)


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 UTC of a stored timestamp (for time buckets: exact, unlike julianday())."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


_spelled(
    epoch_seconds,
    sqlite="CAST(strftime('%s', {0}) AS INTEGER)",
    postgresql="CAST(floor(date_part('epoch', {0})) AS BIGINT)",
)


class whole_part(FunctionElement[int]):
    """floor() of a non-negative number as an integer (SQLite's floor() is an optional build feature)."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "whole_part"


# (SQLite's CAST truncates toward zero, which is floor() for the non-negative numbers this is used on.)
_spelled(whole_part, sqlite="CAST({0} AS INTEGER)", postgresql="CAST(floor({0}) AS BIGINT)")
