//! Reports: `summary.md` and the standalone reproducers under
//! `findings/<id>/`.

pub mod junit;
pub mod qualify;
pub mod reproducer;
pub mod summary;
