//! Reports: `summary.md` and the standalone reproducers under
//! `findings/<id>/`.

pub mod bisect;
pub mod expectations;
pub mod html;
pub mod junit;
pub mod module;
pub mod qualify;
pub mod reproducer;
pub mod stress;
pub mod summary;
