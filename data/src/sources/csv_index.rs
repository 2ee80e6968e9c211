//! A CSV index read by column name (`.csv` or gzip-compressed `.csv.gz`), with errors that name
//! file, row and field. A row the CSV parser cannot read is kept as an error in its place, so a
//! lenient reader can skip and list it while a strict one stops at it.

use crate::DataError;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) struct CsvIndex {
    pub(crate) path: PathBuf,
    shared_path: Arc<Path>,
    headers: Vec<String>,
    columns: HashMap<String, usize>,
    reader: csv::Reader<Box<dyn Read>>,
}

/// Open `path` for reading, decompressing `.gz` transparently.
pub(crate) fn open_maybe_gz(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let file = fs_err::File::open(path).map_err(|e| DataError::io(path, e))?;
    let buf = std::io::BufReader::with_capacity(1 << 20, file);
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz")) {
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, flate2::read::MultiGzDecoder::new(buf))))
    } else {
        Ok(Box::new(buf))
    }
}

/// `dir/name` or, failing that, `dir/name.gz`.
pub(crate) fn find_plain_or_gz(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

impl CsvIndex {
    /// Open a CSV and read its header; rows are streamed by [`CsvIndex::rows`] (flexible row
    /// lengths are checked per field access).
    pub(crate) fn read(path: &Path) -> Result<Self, DataError> {
        if !path.is_file() {
            return Err(DataError::NotFound { path: path.to_path_buf(), what: "index CSV".into() });
        }
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(open_maybe_gz(path)?);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| bad_row(path, &e, 1))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let mut columns = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            columns.entry(h.clone()).or_insert(i);
        }
        Ok(Self { path: path.to_path_buf(), shared_path: Arc::from(path), headers, columns, reader })
    }

    /// The header cells, trimmed.
    pub(crate) fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Column index of the first of `names` present.
    pub(crate) fn column(&self, names: &[&str]) -> Result<usize, DataError> {
        self.optional_column(names).ok_or_else(|| DataError::MissingColumn {
            path: self.path.clone(),
            column: names.join("\" or \""),
        })
    }

    /// Column index of the first of `names` present, if any.
    pub(crate) fn optional_column(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.columns.get(*n).copied())
    }

    /// Rows in file order, streamed; a row the parser cannot read is an error naming file and
    /// line (after an I/O or decompression error nothing more is read).
    pub(crate) fn rows(&mut self) -> impl Iterator<Item = Result<Row, DataError>> + '_ {
        let path = Arc::clone(&self.shared_path);
        let mut done = false;
        let mut records = self.reader.records();
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            match records.next()? {
                Ok(rec) => {
                    let line = rec.position().map_or(0, csv::Position::line);
                    Some(Ok(Row { path: Arc::clone(&path), line, rec }))
                }
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    done = !matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
                    Some(Err(bad_row(&path, &e, line)))
                }
            }
        })
    }
}

fn bad_row(path: &Path, e: &csv::Error, line: u64) -> DataError {
    DataError::BadRow { path: path.to_path_buf(), row: line.max(1), message: e.to_string() }
}

pub(crate) struct Row {
    path: Arc<Path>,
    pub(crate) line: u64,
    rec: csv::StringRecord,
}

impl Row {
    /// The trimmed field at column `col`, named `name` in errors.
    pub(crate) fn get(&self, col: usize, name: &str) -> Result<&str, DataError> {
        self.rec.get(col).map(str::trim).ok_or_else(|| self.bad(name, "row has too few fields"))
    }

    /// The trimmed field at an optional column (`""` when the column is absent).
    pub(crate) fn opt(&self, col: Option<usize>, name: &str) -> Result<&str, DataError> {
        col.map_or(Ok(""), |c| self.get(c, name))
    }

    pub(crate) fn bad(&self, field: &str, message: impl Into<String>) -> DataError {
        DataError::BadField {
            path: self.path.to_path_buf(),
            row: self.line,
            field: field.to_string(),
            message: message.into(),
        }
    }
}
