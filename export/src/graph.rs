//! Writing a model as ONNX with the card in its metadata.

use cxr_core::{CARD_METADATA_KEY, ModelCard};
use cxr_models::{Model, OnnxOps};
use cxr_onnx::GraphError;

/// Output spatial side of the features for an input side `size` (measured, not assumed, by the
/// caller from a Burn forward).
#[derive(Debug, Clone, Copy)]
pub struct FeatureShape {
    /// Channels D.
    pub channels: usize,
    /// Height h.
    pub height: usize,
    /// Width w.
    pub width: usize,
}

/// Record the model into ONNX bytes: input `image` `[N, C, S, S]` with a dynamic batch axis and
/// the five contract outputs, with `card` under [`CARD_METADATA_KEY`].
///
/// # Errors
/// A layer setting the lowering does not support, or serialization failure.
pub fn to_onnx(model: &Model, card: &ModelCard, feat: FeatureShape) -> Result<Vec<u8>, GraphError> {
    let mut o = OnnxOps::new();
    let out = model.run_all(&mut o, card.outputs.input.clone());
    let mut g = o.finish()?;
    let c = &card.outputs;
    g.output_alias(&out.logits, &c.logits);
    g.output_alias(&out.probabilities, &c.probabilities);
    g.output_alias(&out.embedding, &c.embedding);
    g.output_alias(&out.features, &c.features);
    g.output_alias(&out.cam, &c.cam);
    let (k, s) = (card.labels.len() as i64, i64::from(card.preprocess.size));
    let (d, h, w) = (feat.channels as i64, feat.height as i64, feat.width as i64);
    let ch = i64::from(card.preprocess.channels);
    g.finish(
        &card.run_id,
        (&c.input, &[None, Some(ch), Some(s), Some(s)]),
        &[
            (&c.logits, vec![None, Some(k)]),
            (&c.probabilities, vec![None, Some(k)]),
            (&c.embedding, vec![None, Some(d)]),
            (&c.features, vec![None, Some(d), Some(h), Some(w)]),
            (&c.cam, vec![None, Some(k), Some(h), Some(w)]),
        ],
        &[(CARD_METADATA_KEY, &card.to_json())],
        crate::EXPORTER_VERSION,
    )
}
