//! Writing a model as ONNX with the card in its metadata.

use cxr_core::{CARD_METADATA_KEY, ModelCard};
use cxr_models::{Model, OnnxOps};
use cxr_onnx::{GraphError, Message, ModelProto};

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
/// the contract outputs (`cam` only where the head has class maps), with `card` under [`CARD_METADATA_KEY`].
///
/// # Errors
/// A layer setting the lowering does not support, or serialization failure.
pub fn to_onnx(model: &Model, card: &ModelCard, feat: FeatureShape) -> Result<Vec<u8>, GraphError> {
    record(model, card, feat, OnnxOps::new())
}

/// [`to_onnx`] with re-parameterizable blocks in their training form (what published MAC
/// figures count for RepVGG); never written as the model.
///
/// # Errors
/// As [`to_onnx`].
pub fn to_onnx_training_form(model: &Model, card: &ModelCard, feat: FeatureShape) -> Result<Vec<u8>, GraphError> {
    record(model, card, feat, OnnxOps::training_form())
}

fn record(model: &Model, card: &ModelCard, feat: FeatureShape, mut o: OnnxOps) -> Result<Vec<u8>, GraphError> {
    let out = model.run_all(&mut o, card.outputs.input.clone());
    let mut g = o.finish()?;
    let c = &card.outputs;
    g.output_alias(&out.logits, &c.logits);
    g.output_alias(&out.probabilities, &c.probabilities);
    g.output_alias(&out.embedding, &c.embedding);
    g.output_alias(&out.features, &c.features);
    if let Some(cam) = &out.cam {
        g.output_alias(cam, &c.cam);
    }
    let (k, s) = (card.labels.len() as i64, i64::from(card.preprocess.size));
    let (d, h, w) = (feat.channels as i64, feat.height as i64, feat.width as i64);
    let e = c.embedding_dim.map_or(d, |e| e as i64);
    let ch = i64::from(card.preprocess.channels);
    let mut outputs = vec![
        (c.logits.as_str(), vec![None, Some(k)]),
        (c.probabilities.as_str(), vec![None, Some(k)]),
        (c.embedding.as_str(), vec![None, Some(e)]),
        (c.features.as_str(), vec![None, Some(d), Some(h), Some(w)]),
    ];
    if out.cam.is_some() {
        outputs.push((c.cam.as_str(), vec![None, Some(k), Some(h), Some(w)]));
    }
    g.finish(
        &card.run_id,
        (&c.input, &[None, Some(ch), Some(s), Some(s)]),
        &outputs,
        &[(CARD_METADATA_KEY, &card.to_json())],
        crate::EXPORTER_VERSION,
    )
}

/// Put `card` into a model's metadata under [`CARD_METADATA_KEY`], replacing any card it had.
pub fn set_card(model: &mut ModelProto, card: &ModelCard) {
    model.metadata_props.retain(|p| p.key != CARD_METADATA_KEY);
    model.metadata_props.push(Default::default());
    if let Some(e) = model.metadata_props.last_mut() {
        e.key = CARD_METADATA_KEY.into();
        e.value = card.to_json();
    }
}

/// [`set_card`] on serialized bytes (the graph is not recorded again).
///
/// # Errors
/// Bytes that are not a model, or serialization failure.
pub fn stamp_card(bytes: &[u8], card: &ModelCard) -> Result<Vec<u8>, GraphError> {
    let mut model = ModelProto::parse_from_bytes(bytes).map_err(|e| GraphError::Protobuf(e.to_string()))?;
    set_card(&mut model, card);
    model.write_to_bytes().map_err(|e| GraphError::Protobuf(e.to_string()))
}
