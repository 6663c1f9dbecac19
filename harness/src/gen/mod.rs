//! Program generator: seed -> bytes -> arbitrary spec -> Go source.
