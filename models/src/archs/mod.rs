//! Architecture families, one file each.

pub mod densenet;
pub mod resnet;
