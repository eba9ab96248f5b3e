//! Parquet files, read with the Apache `parquet` crate's column readers:
//! only the columns asked for are read from disk; numbers (integers,
//! floats, decimals), strings and booleans, dates and timestamps become the
//! same typed columns as a CSV's; nested columns and other types are left
//! out with a note.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{LogicalType, TimeUnit, Type as Physical};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use super::builder::Selector;
use super::column::ColumnBuilder;
use super::error::{TableError, TableErrorKind};
use super::options::{ColumnType, ReadOptions};
use super::time::TimeStyle;
use super::{Cell, Column, Columns, Sink, Table, TableRead};
use crate::cancel::Cancel;

/// Values read from a column chunk at a time.
const BATCH: usize = 16 * 1024;

/// How a Parquet column becomes cells.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A number: the stored value divided by `divisor` (decimals).
    Number { divisor: f64 },
    /// UTF-8 (or unannotated) bytes.
    Text,
    /// `true` / `false`.
    Bool,
    /// Days since the epoch.
    Date,
    /// An instant: the stored value times `micros_per_unit` (or divided by
    /// 1000 for nanoseconds).
    Timestamp { unit: TimeUnit, utc: bool },
    /// Legacy 96-bit timestamps (Spark, old pandas).
    Int96,
}

fn error(path: &Path, err: ParquetError) -> TableError {
    TableError::new(path, None, TableErrorKind::Parquet(Arc::new(err)))
}

fn open(path: &Path) -> Result<SerializedFileReader<File>, TableError> {
    let file = File::open(path)
        .map_err(|e| TableError::new(path, None, TableErrorKind::Open(Arc::new(e))))?;
    SerializedFileReader::new(file).map_err(|e| error(path, e))
}

/// A column runner does not read from Parquet (it is left out with a note).
#[derive(Debug, thiserror::Error)]
enum Unsupported {
    /// A column inside a group, or a list.
    #[error("a nested or repeated column")]
    Nested,
    /// A decimal stored in a type runner does not decode.
    #[error("a decimal stored as {0}")]
    Decimal(Physical),
    /// A time of day (no date).
    #[error("a time of day")]
    TimeOfDay,
    /// Any other annotated type.
    #[error("{logical:?} ({physical})")]
    Logical {
        /// How it is stored.
        physical: Physical,
        /// What it means.
        logical: LogicalType,
    },
    /// Any other stored type.
    #[error("{0}")]
    Physical(Physical),
}

/// What a column holds, or why it is left out.
fn kind(column: &ColumnDescriptor) -> Result<Kind, Unsupported> {
    if column.max_rep_level() > 0 || column.path().parts().len() > 1 {
        return Err(Unsupported::Nested);
    }
    let logical = column.logical_type_ref();
    let decimal = |scale: i32| Kind::Number {
        divisor: 10f64.powi(scale),
    };
    let kind = match (column.physical_type(), logical) {
        (_, Some(LogicalType::Decimal(d))) => match column.physical_type() {
            Physical::INT32 | Physical::INT64 | Physical::FIXED_LEN_BYTE_ARRAY => decimal(d.scale),
            other => return Err(Unsupported::Decimal(other)),
        },
        (Physical::BOOLEAN, _) => Kind::Bool,
        (Physical::INT32, Some(LogicalType::Date)) => Kind::Date,
        (Physical::INT32 | Physical::INT64, Some(LogicalType::Time(_))) => {
            return Err(Unsupported::TimeOfDay);
        }
        (Physical::INT64, Some(LogicalType::Timestamp(t))) => Kind::Timestamp {
            unit: t.unit,
            utc: t.is_adjusted_to_u_t_c,
        },
        (Physical::INT32 | Physical::INT64 | Physical::FLOAT | Physical::DOUBLE, _) => {
            Kind::Number { divisor: 1.0 }
        }
        (Physical::INT96, _) => Kind::Int96,
        (
            Physical::BYTE_ARRAY,
            None | Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
        ) => Kind::Text,
        (physical, Some(logical)) => {
            return Err(Unsupported::Logical {
                physical,
                logical: logical.clone(),
            });
        }
        (physical, None) => return Err(Unsupported::Physical(physical)),
    };
    Ok(kind)
}

/// The type a column of `kind` has before `types` says otherwise.
fn declared(kind: Kind) -> ColumnType {
    match kind {
        Kind::Number { .. } => ColumnType::Number,
        Kind::Text | Kind::Bool => ColumnType::Text,
        Kind::Date | Kind::Timestamp { .. } | Kind::Int96 => ColumnType::Time,
    }
}

/// The column names of a Parquet file (top-level, leaf columns).
pub(super) fn names(path: &Path) -> Result<Vec<String>, TableError> {
    let reader = open(path)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    Ok(schema.columns().iter().map(|c| c.path().string()).collect())
}

/// Reads the columns `read` asks for.
pub(super) fn read(read: &TableRead, cancel: &Cancel) -> Result<Table, TableError> {
    let path = &read.path;
    let options = &read.options;
    let reader = open(path)?;
    let metadata = reader.metadata();
    let schema = metadata.file_metadata().schema_descr_ptr();
    let rows = usize::try_from(metadata.file_metadata().num_rows()).unwrap_or(0);
    let select = Selector::new(&read.columns);
    let mut notes = Vec::new();
    let mut names = Vec::new();
    // (index in the file, name, kind, builder)
    let mut wanted: Vec<(usize, String, Kind, ColumnBuilder)> = Vec::new();
    for (i, column) in schema.columns().iter().enumerate() {
        let name = column.path().string();
        names.push(name.clone());
        if !select.wants(&name) {
            continue;
        }
        match kind(column) {
            Ok(kind) => {
                let forced = options.forced(&name).unwrap_or(declared(kind));
                let builder = ColumnBuilder::new(&name, Some(forced), options, read.keep_text, 0);
                wanted.push((i, name, kind, builder));
            }
            Err(what) => notes.push(format!(
                "column `{name}` is left out: runner does not read {what} from Parquet"
            )),
        }
    }
    for group in 0..metadata.num_row_groups() {
        let row_group = reader.get_row_group(group).map_err(|e| error(path, e))?;
        for (i, _, kind, builder) in &mut wanted {
            let column = row_group
                .get_column_reader(*i)
                .map_err(|e| error(path, e))?;
            let max_def = schema.column(*i).max_def_level();
            // Every column has a forced type here, so it never turns text
            // late and the row (used only then) does not matter.
            let mut push = |cell: Cell<'_>| builder.push(&cell, 0, options, read.keep_text);
            read_chunk(column, *kind, max_def, &mut push, cancel).map_err(|e| match e {
                ChunkError::Parquet(e) => error(path, e),
                ChunkError::Interrupted => TableError::new(path, None, TableErrorKind::Interrupted),
            })?;
        }
    }
    let columns = wanted
        .into_iter()
        .map(|(_, name, _, builder)| {
            let (values, invalid) = builder.finish(rows, || None);
            Column {
                name,
                values,
                invalid,
            }
        })
        .collect();
    for (name, kind) in &options.types {
        if !names.contains(name) {
            notes.push(format!(
                "`types` makes `{name}` {}, but there is no such column",
                kind.name()
            ));
        }
    }
    Ok(Table {
        path: path.clone(),
        columns,
        names,
        rows,
        notes,
    })
}

/// Every row of a Parquet file into `sink` (the whole file is read first).
pub(super) fn scan(
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn Sink,
    cancel: &Cancel,
) -> Result<(), TableError> {
    let request = TableRead {
        path: path.to_owned(),
        options: Arc::new(options.clone()),
        columns: Columns::All,
        keep_text: true,
    };
    let table = read(&request, cancel)?;
    for column in &table.columns {
        sink.column(column.name.clone());
    }
    for row in 0..table.rows {
        if row % super::delimited::CHECK_EVERY as usize == 0 {
            cancel
                .check()
                .map_err(|_| TableError::new(path, None, TableErrorKind::Interrupted))?;
        }
        let mut cells = table.columns.iter().map(|c| match &c.values {
            super::Values::Numbers(v) if v[row].is_nan() => Cell::Missing,
            super::Values::Numbers(v) => Cell::Number(v[row]),
            super::Values::Text(t) => t.get(row).map_or(Cell::Missing, |s| Cell::Text(s.into())),
            super::Values::Time(t) => t.get(row).map_or(Cell::Missing, |m| Cell::Time(m, t.style)),
        });
        sink.row(row as u64 + 1, &mut cells)
            .map_err(|e| super::delimited::output_error(path, row as u64 + 1, e))?;
    }
    Ok(())
}

enum ChunkError {
    Parquet(parquet::errors::ParquetError),
    Interrupted,
}

impl From<parquet::errors::ParquetError> for ChunkError {
    fn from(e: parquet::errors::ParquetError) -> ChunkError {
        ChunkError::Parquet(e)
    }
}

/// Reads one column chunk, handing each cell (missing ones included) to
/// `push`.
fn read_chunk(
    column: ColumnReader,
    kind: Kind,
    max_def: i16,
    push: &mut dyn FnMut(Cell<'_>),
    cancel: &Cancel,
) -> Result<(), ChunkError> {
    match column {
        ColumnReader::BoolColumnReader(r) => each(r, max_def, cancel, |v: Option<&bool>| {
            push(v.map_or(Cell::Missing, |v| {
                Cell::Other(if *v { "true" } else { "false" }.to_owned())
            }));
        }),
        ColumnReader::Int32ColumnReader(r) => each(r, max_def, cancel, |v: Option<&i32>| {
            push(match (v, kind) {
                (None, _) => Cell::Missing,
                (Some(v), Kind::Date) => {
                    Cell::Time(i64::from(*v) * 86_400_000_000, TimeStyle::DATE)
                }
                (Some(v), Kind::Number { divisor }) => Cell::Number(f64::from(*v) / divisor),
                _ => Cell::Missing,
            });
        }),
        ColumnReader::Int64ColumnReader(r) => each(r, max_def, cancel, |v: Option<&i64>| {
            push(match (v, kind) {
                (None, _) => Cell::Missing,
                (Some(v), Kind::Timestamp { unit, utc }) => {
                    let micros = match unit {
                        TimeUnit::MILLIS => v.saturating_mul(1000),
                        TimeUnit::MICROS => *v,
                        TimeUnit::NANOS => v.div_euclid(1000),
                    };
                    let style = if utc {
                        TimeStyle::UTC
                    } else {
                        TimeStyle::CIVIL
                    };
                    Cell::Time(micros, style)
                }
                (Some(v), Kind::Number { divisor }) => Cell::Number(*v as f64 / divisor),
                _ => Cell::Missing,
            });
        }),
        ColumnReader::Int96ColumnReader(r) => each(
            r,
            max_def,
            cancel,
            |v: Option<&parquet::data_type::Int96>| {
                push(v.map_or(Cell::Missing, |v| {
                    Cell::Time(v.to_micros(), TimeStyle::CIVIL)
                }));
            },
        ),
        ColumnReader::FloatColumnReader(r) => each(r, max_def, cancel, |v: Option<&f32>| {
            push(v.map_or(Cell::Missing, |v| Cell::Number(f64::from(*v))));
        }),
        ColumnReader::DoubleColumnReader(r) => each(r, max_def, cancel, |v: Option<&f64>| {
            push(v.map_or(Cell::Missing, |v| Cell::Number(*v)));
        }),
        ColumnReader::ByteArrayColumnReader(r) => each(
            r,
            max_def,
            cancel,
            |v: Option<&parquet::data_type::ByteArray>| {
                push(v.map_or(Cell::Missing, |v| {
                    Cell::Text(String::from_utf8_lossy(v.data()))
                }));
            },
        ),
        ColumnReader::FixedLenByteArrayColumnReader(r) => each(
            r,
            max_def,
            cancel,
            |v: Option<&parquet::data_type::FixedLenByteArray>| {
                push(match (v, kind) {
                    (Some(v), Kind::Number { divisor }) => {
                        Cell::Number(big_endian(v.data()) / divisor)
                    }
                    _ => Cell::Missing,
                });
            },
        ),
    }
}

/// A big-endian two's complement integer (a decimal's unscaled value).
fn big_endian(bytes: &[u8]) -> f64 {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut value: i128 = if negative { -1 } else { 0 };
    for &b in bytes.iter().take(16) {
        value = (value << 8) | i128::from(b);
    }
    value as f64
}

/// Every value of a column chunk, in order, `None` for a missing one
/// (its definition level below `max_def`), checking `cancel` per batch.
fn each<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    max_def: i16,
    cancel: &Cancel,
    mut f: impl FnMut(Option<&T::T>),
) -> Result<(), ChunkError> {
    let mut values: Vec<T::T> = Vec::with_capacity(BATCH);
    let mut levels: Vec<i16> = Vec::with_capacity(BATCH);
    loop {
        if cancel.is_cancelled() {
            return Err(ChunkError::Interrupted);
        }
        values.clear();
        levels.clear();
        let (records, _, _) = reader.read_records(BATCH, Some(&mut levels), None, &mut values)?;
        if records == 0 {
            return Ok(());
        }
        if max_def == 0 {
            values.iter().for_each(|v| f(Some(v)));
        } else {
            let mut present = values.iter();
            for &level in &levels {
                f(if level == max_def {
                    present.next()
                } else {
                    None
                });
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::table::{Text, Values};
    use parquet::basic::Compression;
    use parquet::data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArrayType, Int32Type, Int64Type,
    };
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    /// Writes a small Parquet file with one column of each kind runner
    /// reads (and one it leaves out), in two row groups.
    pub(crate) fn write_sample(path: &Path, compression: Compression) {
        let schema = Arc::new(
            parse_message_type(
                "message sample {
                    REQUIRED INT64 id;
                    OPTIONAL DOUBLE v;
                    OPTIONAL BYTE_ARRAY station (UTF8);
                    REQUIRED BOOLEAN ok;
                    OPTIONAL INT32 day (DATE);
                    OPTIONAL INT64 ts (TIMESTAMP(MILLIS,true));
                    OPTIONAL INT64 price (DECIMAL(10,2));
                    OPTIONAL FIXED_LEN_BYTE_ARRAY (4) big (DECIMAL(9,3));
                    OPTIONAL group tags (LIST) {
                        REPEATED group list { OPTIONAL BYTE_ARRAY element (UTF8); }
                    }
                }",
            )
            .unwrap(),
        );
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(compression)
                .build(),
        );
        let file = File::create(path).unwrap();
        let mut writer = SerializedFileWriter::new(file, schema, props).unwrap();
        // Row group 1: ids 1, 2; row group 2: id 3 (all optional cells missing).
        for group in 0..2 {
            let mut rg = writer.next_row_group().unwrap();
            let mut index = 0;
            while let Some(mut column) = rg.next_column().unwrap() {
                let first = group == 0;
                let defs: &[i16] = if first { &[1, 0] } else { &[0] };
                match index {
                    0 => {
                        let ids: &[i64] = if first { &[1, 2] } else { &[3] };
                        column
                            .typed::<Int64Type>()
                            .write_batch(ids, None, None)
                            .unwrap();
                    }
                    1 => {
                        let v: &[f64] = if first { &[1.5] } else { &[] };
                        column
                            .typed::<DoubleType>()
                            .write_batch(v, Some(defs), None)
                            .unwrap();
                    }
                    2 => {
                        let s: Vec<ByteArray> = if first { vec!["Köln".into()] } else { vec![] };
                        column
                            .typed::<ByteArrayType>()
                            .write_batch(&s, Some(defs), None)
                            .unwrap();
                    }
                    3 => {
                        let ok: &[bool] = if first { &[true, false] } else { &[true] };
                        column
                            .typed::<BoolType>()
                            .write_batch(ok, None, None)
                            .unwrap();
                    }
                    4 => {
                        let days: &[i32] = if first { &[19783] } else { &[] }; // 2024-03-01
                        column
                            .typed::<Int32Type>()
                            .write_batch(days, Some(defs), None)
                            .unwrap();
                    }
                    5 => {
                        let ms: &[i64] = if first { &[1_709_296_200_000] } else { &[] };
                        column
                            .typed::<Int64Type>()
                            .write_batch(ms, Some(defs), None)
                            .unwrap();
                    }
                    6 => {
                        let cents: &[i64] = if first { &[-1234] } else { &[] };
                        column
                            .typed::<Int64Type>()
                            .write_batch(cents, Some(defs), None)
                            .unwrap();
                    }
                    7 => {
                        let big: Vec<parquet::data_type::FixedLenByteArray> = if first {
                            vec![ByteArray::from((-1500i32).to_be_bytes().to_vec()).into()]
                        } else {
                            vec![]
                        };
                        column
                            .typed::<FixedLenByteArrayType>()
                            .write_batch(&big, Some(defs), None)
                            .unwrap();
                    }
                    _ => {
                        let tags: Vec<ByteArray> = if first {
                            vec!["a".into(), "b".into()]
                        } else {
                            vec!["c".into()]
                        };
                        let (d, r): (&[i16], &[i16]) = if first {
                            (&[3, 3], &[0, 0])
                        } else {
                            (&[3], &[0])
                        };
                        column
                            .typed::<ByteArrayType>()
                            .write_batch(&tags, Some(d), Some(r))
                            .unwrap();
                    }
                }
                column.close().unwrap();
                index += 1;
            }
            rg.close().unwrap();
        }
        writer.close().unwrap();
    }

    fn read_sample(columns: Columns) -> Table {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.parquet");
        write_sample(&path, Compression::SNAPPY);
        let request = TableRead {
            path: path.clone(),
            options: Arc::new(ReadOptions::new()),
            columns,
            keep_text: true,
        };
        crate::table::read(&request, &Cancel::never()).unwrap()
    }

    #[test]
    fn every_kind_of_column() {
        let t = read_sample(Columns::All);
        assert_eq!(t.rows, 3);
        assert_eq!(
            t.column_list(),
            "id, v, station, ok, day, ts, price, big, tags.list.element"
        );
        let get = |name: &str| t.column(name).unwrap().values.clone();
        assert_eq!(get("id"), Values::Numbers(vec![1.0, 2.0, 3.0]));
        let Values::Numbers(v) = get("v") else {
            panic!()
        };
        assert!(v[0] == 1.5 && v[1].is_nan() && v[2].is_nan());
        assert_eq!(
            get("station"),
            Values::Text(Text::from_cells([Some("Köln"), None, None]))
        );
        assert_eq!(
            get("ok"),
            Values::Text(Text::from_cells([
                Some("true"),
                Some("false"),
                Some("true")
            ]))
        );
        let Values::Time(day) = get("day") else {
            panic!()
        };
        assert_eq!((day.text(0).as_str(), day.get(1)), ("2024-03-01", None));
        let Values::Time(ts) = get("ts") else {
            panic!()
        };
        assert_eq!(ts.text(0), "2024-03-01T12:30:00Z");
        let Values::Numbers(price) = get("price") else {
            panic!()
        };
        assert_eq!(price[0], -12.34);
        let Values::Numbers(big) = get("big") else {
            panic!()
        };
        assert_eq!(big[0], -1.5);
        assert!(t.column("tags.list.element").is_none());
        assert_eq!(t.notes.len(), 1, "{:?}", t.notes);
        assert!(
            t.notes[0].contains("`tags.list.element` is left out"),
            "{:?}",
            t.notes
        );
    }

    #[test]
    fn only_the_columns_asked_for_are_read() {
        let t = read_sample(Columns::Only(vec!["v".into(), "d*".into()]));
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["v", "day"]);
        assert!(t.notes.is_empty());
    }

    #[test]
    fn zstd_gzip_and_lz4_files_read() {
        let dir = tempfile::tempdir().unwrap();
        for compression in [
            Compression::ZSTD(Default::default()),
            Compression::GZIP(Default::default()),
            Compression::LZ4_RAW,
            Compression::UNCOMPRESSED,
        ] {
            let path = dir.path().join("c.parquet");
            write_sample(&path, compression);
            let request = TableRead::whole(&path, &Arc::new(ReadOptions::new()));
            let t = crate::table::read(&request, &Cancel::never()).unwrap();
            assert_eq!(t.rows, 3, "{compression:?}");
        }
    }

    #[test]
    fn not_parquet_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let request = TableRead::whole(&path, &Arc::new(ReadOptions::new()));
        let err = crate::table::read(&request, &Cancel::never()).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("x.parquet: cannot read as Parquet"),
            "{err}"
        );
        // The parquet crate's error is kept as the cause, not flattened.
        let cause = std::error::Error::source(&err).expect("a cause");
        assert!(
            cause.downcast_ref::<Arc<ParquetError>>().is_some(),
            "{cause}"
        );
        assert!(
            crate::error::chain(&err).contains(&format!("cannot read as Parquet: {cause}")),
            "{err}"
        );
    }
}
