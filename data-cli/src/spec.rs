//! Finding the preprocessing spec a cache or preview is for: a run config (TOML), a run
//! directory, a model card, a resolved run or a `preprocess_fit.json`.

use anyhow::{Context, bail};
use cxr_core::{ModelCard, PREPROCESS_FIT_FILE, PreprocessSpec, RawConfig};
use serde_json::Value;
use std::path::Path;

/// The spec `path` states (see the module docs).
///
/// # Errors
/// An unreadable or unrecognised file, or a spec that still has to learn its landmarks.
pub(crate) fn load_spec(path: &Path) -> anyhow::Result<PreprocessSpec> {
    let spec = if path.is_dir() {
        let fit = path.join(PREPROCESS_FIT_FILE);
        if fit.is_file() { load_spec(&fit)? } else { load_spec(&path.join("resolved.json"))? }
    } else if path.extension().is_some_and(|e| e == "toml") {
        let raw = RawConfig::from_file(path)?;
        raw.preprocess.resolve(raw.model.image_size, raw.model.in_chans).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        let text = fs_err::read_to_string(path)?;
        let v: Value = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let found = if v.get("schema_version").is_some() && v.get("preprocess").is_some() {
            ModelCard::from_json(&text).with_context(|| format!("{}: malformed model card", path.display()))?.preprocess
        } else if let Some(s) = v.get("spec").or_else(|| v.get("preprocess")) {
            serde_json::from_value(s.clone()).with_context(|| format!("{}: malformed preprocessing spec", path.display()))?
        } else {
            bail!("{}: neither a model card, a resolved run, nor {PREPROCESS_FIT_FILE} (no \"preprocess\" or \"spec\" key)", path.display());
        };
        found
    };
    if spec.needs_fitting() {
        bail!(
            "{}: histogram standardization learns its landmarks from the training set; pass the run directory of a run that has started training (it holds {PREPROCESS_FIT_FILE}) or the model card",
            path.display()
        );
    }
    Ok(spec)
}
