//! A CSV index read by column name, with errors that name file, row and field.

use crate::DataError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(crate) struct CsvIndex {
    pub(crate) path: PathBuf,
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl CsvIndex {
    /// Read a whole CSV (flexible row lengths are checked per field access).
    pub(crate) fn read(path: &Path) -> Result<Self, DataError> {
        if !path.is_file() {
            return Err(DataError::NotFound { path: path.to_path_buf(), what: "index CSV".into() });
        }
        let file = fs_err::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(std::io::BufReader::new(file));
        let headers = rdr
            .headers()
            .map_err(|e| DataError::BadRow { path: path.to_path_buf(), row: 1, message: e.to_string() })?
            .clone();
        let columns = headers.iter().enumerate().map(|(i, h)| (h.trim().to_string(), i)).collect();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let row = e.position().map_or(0, csv::Position::line);
                DataError::BadRow { path: path.to_path_buf(), row, message: e.to_string() }
            })?;
            let line = rec.position().map_or(0, csv::Position::line);
            rows.push((line, rec));
        }
        Ok(Self { path: path.to_path_buf(), columns, rows })
    }

    /// Column index of the first of `names` present.
    pub(crate) fn column(&self, names: &[&str]) -> Result<usize, DataError> {
        names.iter().find_map(|n| self.columns.get(*n).copied()).ok_or_else(|| {
            DataError::MissingColumn { path: self.path.clone(), column: names.join("\" or \"") }
        })
    }

    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |(line, rec)| Row { index: self, line: *line, rec })
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }
}

pub(crate) struct Row<'a> {
    index: &'a CsvIndex,
    pub(crate) line: u64,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    /// The trimmed field at column `col`, named `name` in errors.
    pub(crate) fn get(&self, col: usize, name: &str) -> Result<&str, DataError> {
        self.rec.get(col).map(str::trim).ok_or_else(|| self.bad(name, "row has too few fields"))
    }

    pub(crate) fn bad(&self, field: &str, message: impl Into<String>) -> DataError {
        DataError::BadField {
            path: self.index.path.clone(),
            row: self.line,
            field: field.to_string(),
            message: message.into(),
        }
    }
}
