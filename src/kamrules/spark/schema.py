"""Spark and Arrow schemas derived from polars ones: the output is the Parquet output's.

The columns and types of a Spark result are those of
:func:`kamrules.columnar.output.output_schema` (what ``kamrules evaluate --format parquet``
writes): enums become strings (Parquet stores them dictionary-encoded, and reads them back as
text), ``Decimal(5, 2)`` stays a decimal, ``failed_checks`` an array of strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl
    from pyspark.sql.types import DataType, StructType

    from kamrules.evaluation.engine import Engine


def spark_type(dtype: pl.DataType) -> DataType:
    """The Spark type of one polars column type (those the result frames use)."""
    import polars as pl
    from pyspark.sql import types as T

    if isinstance(dtype, pl.Decimal):
        return T.DecimalType(dtype.precision or 38, dtype.scale or 0)
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        assert isinstance(inner, pl.DataType)
        return T.ArrayType(spark_type(inner), containsNull=True)
    if isinstance(dtype, pl.Enum | pl.Categorical) or dtype == pl.String:
        return T.StringType()
    simple: dict[Any, DataType] = {
        pl.Int64: T.LongType(),
        pl.Int32: T.IntegerType(),
        pl.Float64: T.DoubleType(),
        pl.Boolean: T.BooleanType(),
        pl.Date: T.DateType(),
    }
    for polars_type, spark in simple.items():
        if dtype == polars_type:
            return spark
    raise TypeError(f"no Spark type for the polars type {dtype}")


def spark_schema(columns: dict[str, pl.DataType]) -> StructType:
    from pyspark.sql import types as T

    return T.StructType([T.StructField(name, spark_type(dtype), nullable=True) for name, dtype in columns.items()])


def output_columns(engine: Engine) -> dict[str, pl.DataType]:
    """The output frame's columns with enums as text (what leaves an executor)."""
    import polars as pl

    from kamrules.columnar.output import output_schema

    return {
        name: pl.String() if isinstance(dtype, pl.Enum | pl.Categorical) else dtype
        for name, dtype in output_schema(engine).items()
    }


def arrow_schema(columns: dict[str, pl.DataType]) -> Any:
    """The Arrow schema of a frame with these polars columns, as Spark expects it back:
    plain (not large or view) strings and lists, which Spark's Arrow reader requires."""
    import polars as pl
    import pyarrow as pa  # type: ignore[import-untyped]

    schema = pl.DataFrame(schema=columns).to_arrow().schema
    return pa.schema([pa.field(f.name, _plain(f.type)) for f in schema])


def _plain(kind: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        return pa.list_(_plain(kind.value_type))
    if pa.types.is_dictionary(kind):
        return _plain(kind.value_type)
    return kind


def to_batches(frame: pl.DataFrame, schema: Any) -> list[Any]:
    """A frame as Arrow record batches of exactly ``schema`` (strings as Spark reads them)."""
    import polars as pl

    cast = frame.with_columns(
        pl.col(name).cast(pl.String) for name, dtype in frame.schema.items() if isinstance(dtype, pl.Enum)
    )
    batches: list[Any] = cast.to_arrow().cast(schema).to_batches()
    return batches
