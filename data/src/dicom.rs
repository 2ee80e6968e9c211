//! DICOM decoding through dicom-rs (`dicom-object`, `dicom-pixeldata` with the pure-Rust JPEG
//! 2000 decoder), and writing plain DICOM files for the phantom sites.
//!
//! Decoding rule (documented in the README): the modality rescale (slope, intercept) is always
//! applied; then, when the file has a VOI window or VOI LUT, the first one maps values to the full
//! output range; otherwise values are scaled by `2^BitsStored − 1` (one rule for all 16-bit data,
//! see [`crate::load_gray_hinted`]). MONOCHROME1 is inverted so that bright means dense, as in
//! MONOCHROME2. What dicom-rs would silently mis-decode is refused with the file name: 12-bit JPEG
//! Extended (transfer syntax 1.2.840.10008.1.2.4.51), multi-frame files, and a Modality LUT
//! Sequence (dicom-pixeldata applies only rescale).

use crate::{DataError, GrayImage};
use dicom_dictionary_std::tags;
use dicom_pixeldata::{ConvertOptions, PixelDecoder, VoiLutOption};
use std::path::Path;

/// JPEG Extended (Process 2 & 4): 12-bit variants are not decodable by this build.
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// Whether a file is DICOM: a `.dcm`/`.dicom` extension or the `DICM` preamble marker.
pub(crate) fn is_dicom(path: &Path, head: &[u8]) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("dcm") || e.eq_ignore_ascii_case("dicom"))
        || head.get(128..132) == Some(b"DICM".as_slice())
}

fn int_of(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    obj.element_opt(tag).ok().flatten().and_then(|e| e.value().to_int::<i64>().ok())
}

fn str_of(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element_opt(tag).ok().flatten().and_then(|e| e.value().to_str().ok()).map(|s| s.trim().trim_end_matches('\0').to_string())
}

/// Decode a single-frame monochrome DICOM image to `[0, 1]`.
pub(crate) fn load(path: &Path) -> Result<GrayImage, DataError> {
    let err = |message: String| DataError::Image { path: path.to_path_buf(), message };
    let obj = dicom_object::open_file(path).map_err(|e| err(format!("not a readable DICOM file: {e}")))?;
    let ts = obj.meta().transfer_syntax().trim_end_matches('\0').to_string();
    let bits_stored = int_of(&obj, tags::BITS_STORED).ok_or_else(|| err("no BitsStored (0028,0101)".into()))?;
    if ts == JPEG_EXTENDED && bits_stored > 8 {
        return Err(err(format!(
            "{bits_stored}-bit JPEG Extended (transfer syntax {JPEG_EXTENDED}) cannot be decoded by this build; convert it to an uncompressed or JPEG 2000 transfer syntax first"
        )));
    }
    if let Some(n) = int_of(&obj, tags::NUMBER_OF_FRAMES).filter(|&n| n > 1) {
        return Err(err(format!("multi-frame image ({n} frames); a chest radiograph has one")));
    }
    if obj.element_opt(tags::MODALITY_LUT_SEQUENCE).ok().flatten().is_some() {
        return Err(err("has a Modality LUT Sequence (0028,3000), which the decoder would ignore; refusing to mis-decode it".into()));
    }
    let photometric = str_of(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
    if photometric != "MONOCHROME1" && photometric != "MONOCHROME2" {
        return Err(err(format!("photometric interpretation {photometric:?}; expected MONOCHROME1 or MONOCHROME2")));
    }
    if !(1..=16).contains(&bits_stored) {
        return Err(err(format!("BitsStored {bits_stored} outside 1..16")));
    }
    let has_voi = obj.element_opt(tags::WINDOW_CENTER).ok().flatten().is_some() || obj.element_opt(tags::VOILUT_SEQUENCE).ok().flatten().is_some();
    let decoded = obj.decode_pixel_data().map_err(|e| err(format!("cannot decode pixel data (transfer syntax {ts}): {e}")))?;
    let (width, height) = (decoded.columns(), decoded.rows());
    if width == 0 || height == 0 {
        return Err(err("empty image".into()));
    }
    let mut pixels: Vec<f32> = if has_voi {
        // The VOI transform maps to the whole 16-bit range; MONOCHROME1 is inverted by dicom-rs.
        let opts = ConvertOptions::new().with_voi_lut(VoiLutOption::First).force_16bit();
        let img = decoded.to_dynamic_image_with_options(0, &opts).map_err(|e| err(format!("VOI transform failed: {e}")))?;
        return Ok(GrayImage { width, height, pixels: img.to_luma16().as_raw().iter().map(|&v| f32::from(v) / 65535.0).collect(), bit_depth: 16 });
    } else {
        let opts = ConvertOptions::new().with_voi_lut(VoiLutOption::Identity);
        let values: Vec<f64> = decoded.to_vec_frame_with_options(0, &opts).map_err(|e| err(format!("cannot read pixel values: {e}")))?;
        let max = f64::from((1u32 << bits_stored) - 1);
        if let Some(bad) = values.iter().find(|v| !(0.0..=max).contains(*v)) {
            return Err(err(format!("value {bad} after modality rescale is outside 0..{max} (BitsStored {bits_stored}) and the file has no VOI window to map it")));
        }
        values.iter().map(|&v| (v / max) as f32).collect()
    };
    if photometric == "MONOCHROME1" {
        for v in &mut pixels {
            *v = 1.0 - *v;
        }
    }
    if pixels.len() != width as usize * height as usize {
        return Err(err(format!("{} samples for {width}×{height} pixels (colour data?)", pixels.len())));
    }
    Ok(GrayImage { width, height, pixels, bit_depth: if bits_stored > 8 { 16 } else { 8 } })
}

/// The view a DICOM file states in ViewPosition (0018,5101), read from the header only (the pixel
/// data is not loaded): `None` when the tag is absent.
///
/// # Errors
/// [`DataError::Image`] naming the file when it is not readable DICOM.
pub fn view_position(path: &Path) -> Result<Option<crate::View>, DataError> {
    let obj = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| DataError::Image { path: path.to_path_buf(), message: format!("not a readable DICOM file: {e}") })?;
    Ok(str_of(&obj, tags::VIEW_POSITION).map(|v| crate::sources::view_from_position(&v)))
}

/// What a phantom DICOM holds.
pub struct DicomSpec<'a> {
    /// Samples, row-major, each below `2^bits_stored`.
    pub samples: &'a [u16],
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Bits stored (≤ 16; 16 bits allocated).
    pub bits_stored: u16,
    /// Invert on display (MONOCHROME1).
    pub monochrome1: bool,
    /// VOI window (centre, width), if any.
    pub window: Option<(f64, f64)>,
    /// Patient id.
    pub patient_id: &'a str,
    /// SOP instance UID (digits and dots).
    pub sop_uid: &'a str,
    /// ViewPosition (0018,5101), e.g. `PA`, `AP`, `LL`.
    pub view_position: &'a str,
}

/// Write an uncompressed (explicit VR little endian) single-frame CR image.
///
/// # Errors
/// An I/O or encoding error naming the file.
pub fn write(path: &Path, s: &DicomSpec<'_>) -> Result<(), DataError> {
    use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let err = |message: String| DataError::Image { path: path.to_path_buf(), message };
    const CR_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.1";
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from(CR_STORAGE)),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(s.sop_uid)),
        DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("CR")),
        DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from(s.patient_id)),
        DataElement::new(tags::VIEW_POSITION, VR::CS, PrimitiveValue::from(s.view_position)),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, dicom_value!(U16, [1])),
        DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, PrimitiveValue::from(if s.monochrome1 { "MONOCHROME1" } else { "MONOCHROME2" })),
        DataElement::new(tags::ROWS, VR::US, dicom_value!(U16, [u16::try_from(s.height).map_err(|e| err(e.to_string()))?])),
        DataElement::new(tags::COLUMNS, VR::US, dicom_value!(U16, [u16::try_from(s.width).map_err(|e| err(e.to_string()))?])),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, dicom_value!(U16, [16])),
        DataElement::new(tags::BITS_STORED, VR::US, dicom_value!(U16, [s.bits_stored])),
        DataElement::new(tags::HIGH_BIT, VR::US, dicom_value!(U16, [s.bits_stored - 1])),
        DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, dicom_value!(U16, [0])),
        DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, PrimitiveValue::from("0")),
        DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from("1")),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(s.samples.iter().copied().collect())),
    ]);
    if let Some((c, w)) = s.window {
        obj.put(DataElement::new(tags::WINDOW_CENTER, VR::DS, PrimitiveValue::from(format!("{c}"))));
        obj.put(DataElement::new(tags::WINDOW_WIDTH, VR::DS, PrimitiveValue::from(format!("{w}"))));
    }
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .map_err(|e| err(format!("DICOM meta: {e}")))?;
    if let Some(d) = path.parent() {
        fs_err::create_dir_all(d).map_err(|e| DataError::io(d, e))?;
    }
    file.write_to_file(path).map_err(|e| err(format!("writing DICOM: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
    use dicom_object::InMemDicomObject;

    fn sample(dir: &Path, monochrome1: bool, window: bool) -> std::path::PathBuf {
        let samples: Vec<u16> = (0..12u16).map(|i| i * 300).collect();
        let p = dir.join(format!("x-{monochrome1}-{window}.dcm"));
        write(&p, &DicomSpec { samples: &samples, width: 4, height: 3, bits_stored: 12, monochrome1, window: window.then_some((2048.0, 4096.0)), patient_id: "p", sop_uid: "1.2.3", view_position: "PA" }).unwrap();
        p
    }

    #[test]
    fn view_position_is_read_from_the_header() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("ll.dcm");
        write(&p, &DicomSpec { samples: &[0; 4], width: 2, height: 2, bits_stored: 12, monochrome1: false, window: None, patient_id: "p", sop_uid: "1.2", view_position: "LL" }).unwrap();
        assert_eq!(view_position(&p).unwrap(), Some(crate::View::Lateral));
        assert_eq!(view_position(&sample(tmp.path(), false, false)).unwrap(), Some(crate::View::PA));
    }

    #[test]
    fn bits_stored_scaling_and_monochrome1_inversion() {
        let tmp = tempfile::tempdir().unwrap();
        let img = load(&sample(tmp.path(), false, false)).unwrap();
        assert_eq!((img.width, img.height), (4, 3));
        assert!((img.pixels[11] - 3300.0 / 4095.0).abs() < 1e-6, "{}", img.pixels[11]);
        let inv = load(&sample(tmp.path(), true, false)).unwrap();
        assert!((inv.pixels[11] - (1.0 - 3300.0 / 4095.0)).abs() < 1e-6);
        // A window of the full range is (close to) the identity.
        let win = load(&sample(tmp.path(), false, true)).unwrap();
        assert!(win.pixels.iter().zip(&img.pixels).all(|(a, b)| (a - b).abs() < 2e-3), "{:?} vs {:?}", win.pixels, img.pixels);
    }

    fn with(path: &Path, out: &Path, elt: DataElement<InMemDicomObject>) -> std::path::PathBuf {
        let mut obj = dicom_object::open_file(path).unwrap();
        obj.put(elt);
        obj.write_to_file(out).unwrap();
        out.to_path_buf()
    }

    #[test]
    fn multi_frame_and_modality_lut_sequence_are_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let base = sample(tmp.path(), false, false);
        let mf = with(&base, &tmp.path().join("mf.dcm"), DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("2")));
        let e = load(&mf).unwrap_err().to_string();
        assert!(e.contains("mf.dcm") && e.contains("multi-frame"), "{e}");
        let seq = dicom_core::value::DataSetSequence::from(vec![InMemDicomObject::from_element_iter([DataElement::new(tags::LUT_DESCRIPTOR, VR::US, dicom_value!(U16, [2, 0, 12]))])]);
        let ml = with(&base, &tmp.path().join("mlut.dcm"), DataElement::new(tags::MODALITY_LUT_SEQUENCE, VR::SQ, seq));
        let e = load(&ml).unwrap_err().to_string();
        assert!(e.contains("mlut.dcm") && e.contains("Modality LUT Sequence"), "{e}");
        let bytes = std::fs::read(&base).unwrap();
        std::fs::write(tmp.path().join("trunc.dcm"), &bytes[..bytes.len() - 10]).unwrap();
        assert!(load(&tmp.path().join("trunc.dcm")).unwrap_err().to_string().contains("trunc.dcm"));
    }
}
