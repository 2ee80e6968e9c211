//! Sealed predictions: what the evaluator commits to before it may look at a single label.
//!
//! Per dataset, inference appends rows (`id, image_blake3, one probability per label`) to
//! `predictions/<stem>.partial.csv`, flushed after every batch, beside `<stem>.partial.json`,
//! which binds the rows to the model's SHA-256 and the image manifest's hash. An interrupted run
//! resumes after the last complete row. When every image has a row the file is renamed to
//! `predictions/<stem>.csv` and `<stem>.seal.json` records its blake3: from then on the rows
//! cannot change unnoticed. Only after every dataset is sealed are labels read
//! ([`crate::evaluation`]); `cxr-eval verify` re-checks each seal.

use cxr_core::{PreprocessSpec, write_atomic, write_json_atomic};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a set of predictions is predictions of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// Source name.
    pub dataset: String,
    /// Index read.
    pub split: String,
    /// [`cxr_data::Dataset::image_manifest_hash`] of the manifest read without labels.
    pub image_manifest_hash: String,
    /// Images in the manifest (rows expected).
    pub images: usize,
    /// Probability columns, in order (the card's labels).
    pub labels: Vec<String>,
    /// The preprocessing applied (the card's).
    pub preprocess: PreprocessSpec,
}

/// The seal of a finished predictions file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// What the rows are predictions of.
    pub binding: Binding,
    /// The predictions file, relative to the run folder.
    pub predictions_file: String,
    /// blake3 of its bytes.
    pub predictions_blake3: String,
}

/// One sealed row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Record id.
    pub id: String,
    /// blake3 of the image file.
    pub image_blake3: String,
    /// Probabilities, in the binding's label order.
    pub probabilities: Vec<f32>,
}

/// Seal problems: each names the file.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The run folder holds predictions of something else.
    #[error("{}: these predictions are of {what} {found}, not {expected}; use another --out folder (a run folder is never overwritten)", path.display())]
    OtherRun {
        /// Binding file.
        path: PathBuf,
        /// What differs.
        what: &'static str,
        /// Found there.
        found: String,
        /// Expected now.
        expected: String,
    },
    /// The sealed bytes changed.
    #[error("{}: blake3 {actual} but the seal {} says {expected}: the sealed predictions were modified", path.display(), seal.display())]
    Tampered {
        /// Predictions file.
        path: PathBuf,
        /// Seal file.
        seal: PathBuf,
        /// Recorded.
        expected: String,
        /// Now.
        actual: String,
    },
    /// A row that does not parse or does not match the manifest.
    #[error("{}: row {row}: {message}", path.display())]
    BadRow {
        /// File.
        path: PathBuf,
        /// 1-based data row.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// I/O or JSON.
    #[error("{}: {message}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Message.
        message: String,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> SealError {
    SealError::Io { path: path.to_path_buf(), message: e.to_string() }
}

/// File names of one dataset's predictions.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Sealed CSV.
    pub csv: PathBuf,
    /// Its seal.
    pub seal: PathBuf,
    /// Rows being written.
    pub partial: PathBuf,
    /// Their binding.
    pub partial_binding: PathBuf,
    /// The CSV relative to the run folder.
    pub relative: String,
}

impl Paths {
    /// Paths for `<source>-<split>` under `run_dir/predictions/`.
    #[must_use]
    pub fn new(run_dir: &Path, dataset: &str, split: &str) -> Self {
        let stem = format!("{dataset}-{split}");
        let d = run_dir.join("predictions");
        Self {
            csv: d.join(format!("{stem}.csv")),
            seal: d.join(format!("{stem}.seal.json")),
            partial: d.join(format!("{stem}.partial.csv")),
            partial_binding: d.join(format!("{stem}.partial.json")),
            relative: format!("predictions/{stem}.csv"),
        }
    }
}

fn header(labels: &[String]) -> Vec<String> {
    let mut h = vec!["id".to_string(), "image_blake3".to_string()];
    h.extend(labels.iter().cloned());
    h
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, SealError> {
    let text = fs_err::read_to_string(path).map_err(|e| io(path, e))?;
    serde_json::from_str(&text).map_err(|e| io(path, format!("not a valid file of this kind: {e}")))
}

fn check_binding(path: &Path, found: &Binding, expected: &Binding) -> Result<(), SealError> {
    let other = |what, f: &str, e: &str| Err(SealError::OtherRun { path: path.to_path_buf(), what, found: f.to_string(), expected: e.to_string() });
    if found.model_sha256 != expected.model_sha256 {
        return other("the model with SHA-256", &found.model_sha256, &expected.model_sha256);
    }
    if found.image_manifest_hash != expected.image_manifest_hash || found.images != expected.images {
        return other("the image manifest", &format!("{} ({} images)", found.image_manifest_hash, found.images), &format!("{} ({} images)", expected.image_manifest_hash, expected.images));
    }
    if found != expected {
        return other("settings", &serde_json::to_string(found).unwrap_or_default(), &serde_json::to_string(expected).unwrap_or_default());
    }
    Ok(())
}

/// Parse rows from CSV text (header first), checking ids against `ids` in order.
fn parse_rows(path: &Path, text: &str, labels: &[String], ids: &[String]) -> Result<Vec<Row>, SealError> {
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let h: Vec<String> = r.headers().map_err(|e| io(path, e))?.iter().map(str::to_string).collect();
    if h != header(labels) {
        return Err(io(path, format!("header {h:?}; expected {:?}", header(labels))));
    }
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let bad = |message: String| SealError::BadRow { path: path.to_path_buf(), row: i + 1, message };
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        if rec.len() != 2 + labels.len() {
            return Err(bad(format!("{} fields; expected {}", rec.len(), 2 + labels.len())));
        }
        let id = rec[0].to_string();
        match ids.get(i) {
            Some(want) if *want == id => {}
            Some(want) => return Err(bad(format!("id {id:?} where the manifest has {want:?}"))),
            None => return Err(bad(format!("id {id:?} beyond the manifest's {} images", ids.len()))),
        }
        let probabilities = (0..labels.len())
            .map(|k| rec[2 + k].parse::<f32>().map_err(|_| bad(format!("{}: not a number: {:?}", labels[k], &rec[2 + k]))))
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(Row { id, image_blake3: rec[1].to_string(), probabilities });
    }
    Ok(rows)
}

/// The sealed rows of a dataset, checked: the seal's binding equals `binding`, the file hashes to
/// the sealed blake3, and the rows are the manifest's ids in order. `Ok(None)` when not sealed.
///
/// # Errors
/// [`SealError`] naming the file.
pub fn load_sealed(paths: &Paths, binding: &Binding, ids: &[String]) -> Result<Option<(Seal, Vec<Row>)>, SealError> {
    if !paths.seal.is_file() {
        return Ok(None);
    }
    let seal: Seal = read_json(&paths.seal)?;
    check_binding(&paths.seal, &seal.binding, binding)?;
    let rows = read_sealed_file(paths, &seal, ids)?;
    Ok(Some((seal, rows)))
}

/// Read and check the file a seal names (hash and ids).
///
/// # Errors
/// [`SealError::Tampered`] and the like.
pub fn read_sealed_file(paths: &Paths, seal: &Seal, ids: &[String]) -> Result<Vec<Row>, SealError> {
    let bytes = fs_err::read(&paths.csv).map_err(|e| io(&paths.csv, e))?;
    let actual = blake3::hash(&bytes).to_hex().to_string();
    if actual != seal.predictions_blake3 {
        return Err(SealError::Tampered { path: paths.csv.clone(), seal: paths.seal.clone(), expected: seal.predictions_blake3.clone(), actual });
    }
    let text = String::from_utf8(bytes).map_err(|e| io(&paths.csv, e))?;
    let rows = parse_rows(&paths.csv, &text, &seal.binding.labels, ids)?;
    if rows.len() != ids.len() {
        return Err(io(&paths.csv, format!("{} rows for {} images", rows.len(), ids.len())));
    }
    Ok(rows)
}

/// Appends rows to the partial file, flushing after each batch.
pub struct PartialWriter {
    file: fs_err::File,
    /// Rows in the file.
    pub rows: usize,
}

impl PartialWriter {
    /// Append rows and flush them to disk.
    ///
    /// # Errors
    /// I/O.
    pub fn append(&mut self, rows: &[Row]) -> std::io::Result<()> {
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        for r in rows {
            let mut rec = vec![r.id.clone(), r.image_blake3.clone()];
            // `{}` of an f32 is the shortest text that parses back to the same f32.
            rec.extend(r.probabilities.iter().map(|v| format!("{v}")));
            w.write_record(&rec).map_err(std::io::Error::other)?;
        }
        let buf = w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.rows += rows.len();
        Ok(())
    }
}

/// Open (or resume) the partial predictions of a dataset: the rows already written (complete
/// lines whose ids follow the manifest; a torn last line is cut) and a writer positioned after
/// them.
///
/// # Errors
/// A partial file of another model or manifest ([`SealError::OtherRun`]), or I/O.
pub fn open_partial(paths: &Paths, binding: &Binding, ids: &[String]) -> Result<PartialWriter, SealError> {
    if let Some(d) = paths.partial.parent() {
        fs_err::create_dir_all(d).map_err(|e| io(d, e))?;
    }
    // A crash between the rename and the seal leaves the finished file unsealed: resume it.
    if paths.csv.is_file() && !paths.seal.is_file() && paths.partial_binding.is_file() {
        fs_err::rename(&paths.csv, &paths.partial).map_err(|e| io(&paths.csv, e))?;
    }
    if paths.partial_binding.is_file() && paths.partial.is_file() {
        let found: Binding = read_json(&paths.partial_binding)?;
        check_binding(&paths.partial_binding, &found, binding)?;
        let bytes = fs_err::read(&paths.partial).map_err(|e| io(&paths.partial, e))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let text = String::from_utf8_lossy(&bytes[..complete]).into_owned();
        let rows = parse_rows(&paths.partial, &text, &binding.labels, ids)?.len();
        let file = fs_err::OpenOptions::new().write(true).open(&paths.partial).map_err(|e| io(&paths.partial, e))?;
        file.file().set_len(complete as u64).map_err(|e| io(&paths.partial, e))?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(|e| io(&paths.partial, e))?;
        return Ok(PartialWriter { file, rows });
    }
    write_json_atomic(&paths.partial_binding, binding).map_err(|e| io(&paths.partial_binding, e))?;
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(header(&binding.labels)).map_err(|e| io(&paths.partial, e))?;
    let head = w.into_inner().map_err(|e| io(&paths.partial, e.to_string()))?;
    write_atomic(&paths.partial, &head).map_err(|e| io(&paths.partial, e))?;
    let file = fs_err::OpenOptions::new().append(true).open(&paths.partial).map_err(|e| io(&paths.partial, e))?;
    Ok(PartialWriter { file, rows: 0 })
}

/// Seal a complete partial file: rename it into place, hash it, write the seal.
///
/// # Errors
/// Fewer rows than images, or I/O.
pub fn seal(paths: &Paths, binding: &Binding, writer: PartialWriter) -> Result<Seal, SealError> {
    if writer.rows != binding.images {
        return Err(io(&paths.partial, format!("{} rows for {} images: not sealing an incomplete file", writer.rows, binding.images)));
    }
    writer.file.sync_all().map_err(|e| io(&paths.partial, e))?;
    drop(writer);
    fs_err::rename(&paths.partial, &paths.csv).map_err(|e| io(&paths.partial, e))?;
    let bytes = fs_err::read(&paths.csv).map_err(|e| io(&paths.csv, e))?;
    let seal = Seal { binding: binding.clone(), predictions_file: paths.relative.clone(), predictions_blake3: blake3::hash(&bytes).to_hex().to_string() };
    write_json_atomic(&paths.seal, &seal).map_err(|e| io(&paths.seal, e))?;
    fs_err::remove_file(&paths.partial_binding).map_err(|e| io(&paths.partial_binding, e))?;
    Ok(seal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(images: usize) -> Binding {
        Binding {
            model_sha256: "m".into(),
            dataset: "nih".into(),
            split: "all".into(),
            image_manifest_hash: "h".into(),
            images,
            labels: vec!["A".into(), "B".into()],
            preprocess: PreprocessSpec::default_for(32, 1),
        }
    }

    fn row(id: &str, p: f32) -> Row {
        Row { id: id.into(), image_blake3: "x".into(), probabilities: vec![p, 1.0 - p] }
    }

    #[test]
    fn resume_cuts_a_torn_line_then_seals_and_detects_tampering() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::new(tmp.path(), "nih", "all");
        let ids: Vec<String> = ["a,1", "b", "c"].map(String::from).to_vec();
        let b = binding(3);
        let mut w = open_partial(&paths, &b, &ids).unwrap();
        w.append(&[row("a,1", 0.1)]).unwrap();
        drop(w);
        // A torn write: half a row without its newline.
        let mut f = fs_err::OpenOptions::new().append(true).open(&paths.partial).unwrap();
        f.write_all(b"b,x,0.2").unwrap();
        drop(f);
        let mut w = open_partial(&paths, &b, &ids).unwrap();
        assert_eq!(w.rows, 1, "the torn row is cut");
        w.append(&[row("b", 0.2), row("c", 0.3)]).unwrap();
        let seal = seal(&paths, &b, w).unwrap();
        let (_, rows) = load_sealed(&paths, &b, &ids).unwrap().unwrap();
        assert_eq!(rows, vec![row("a,1", 0.1), row("b", 0.2), row("c", 0.3)], "exact f32 round trip");
        assert_eq!(seal.predictions_file, "predictions/nih-all.csv");
        // Another model: refused, never mixed.
        let other = Binding { model_sha256: "z".into(), ..b.clone() };
        assert!(load_sealed(&paths, &other, &ids).unwrap_err().to_string().contains("the model with SHA-256 m"));
        // One changed digit: refused.
        let text = fs_err::read_to_string(&paths.csv).unwrap().replace("0.3", "0.4");
        fs_err::write(&paths.csv, text).unwrap();
        assert!(matches!(load_sealed(&paths, &b, &ids), Err(SealError::Tampered { .. })));
    }

    #[test]
    fn rows_must_follow_the_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::new(tmp.path(), "nih", "all");
        let ids: Vec<String> = vec!["a".into(), "b".into()];
        let b = binding(2);
        let mut w = open_partial(&paths, &b, &ids).unwrap();
        w.append(&[row("b", 0.1)]).unwrap();
        drop(w);
        let e = open_partial(&paths, &b, &ids).err().unwrap().to_string();
        assert!(e.contains("row 1") && e.contains("\"b\" where the manifest has \"a\""), "{e}");
        let w = open_partial(&Paths::new(tmp.path(), "x", "y"), &b, &ids).unwrap();
        assert!(seal(&Paths::new(tmp.path(), "x", "y"), &b, w).unwrap_err().to_string().contains("not sealing"));
    }
}
