//! Architecture families, one file each.

pub mod blocks;
pub mod convnext;
pub mod densenet;
pub mod dpn;
pub mod efficientnet;
pub mod mobilenetv3;
pub mod regnet;
pub mod repvgg;
pub mod resnet;
pub mod tresnet;
pub mod xception;
