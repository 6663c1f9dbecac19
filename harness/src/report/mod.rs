//! Reports: standalone reproducers under `findings/<id>/`.

pub mod reproducer;
