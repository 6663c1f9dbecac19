//! A tiny writer for gofmt-shaped Go source: tab indentation, one statement
//! a line, and a per-program import set.

use std::collections::BTreeSet;

/// Line-oriented Go source writer. Indentation is tabs, as gofmt wants.
#[derive(Default)]
pub(crate) struct Src {
    out: String,
    ind: usize,
}

impl Src {
    pub(crate) fn new() -> Self {
        Src::default()
    }

    /// One line at the current indentation (an empty string gives a blank line).
    pub(crate) fn line(&mut self, s: impl AsRef<str>) {
        let s = s.as_ref();
        if !s.is_empty() {
            for _ in 0..self.ind {
                self.out.push('\t');
            }
            self.out.push_str(s);
        }
        self.out.push('\n');
    }

    /// A line that opens a block (`... {`); what follows is indented.
    pub(crate) fn open(&mut self, s: impl AsRef<str>) {
        self.line(s);
        self.ind += 1;
    }

    /// A line that closes a block (`}`, `}()`, `})` ...).
    pub(crate) fn close(&mut self, s: impl AsRef<str>) {
        self.ind = self.ind.saturating_sub(1);
        self.line(s);
    }

    /// A line that closes one block and opens the next (`} else {`, `case x:`).
    pub(crate) fn mid(&mut self, s: impl AsRef<str>) {
        self.ind = self.ind.saturating_sub(1);
        self.line(s);
        self.ind += 1;
    }

    /// A line at `tabs` tabs, whatever the current indentation.
    pub(crate) fn raw(&mut self, tabs: usize, s: &str) {
        for _ in 0..tabs {
            self.out.push('\t');
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// What the case renderers contribute to one program: top-level declarations
/// and the packages they need.
#[derive(Default)]
pub(crate) struct Unit {
    pub(crate) imports: BTreeSet<&'static str>,
    pub(crate) decls: Vec<String>,
}

impl Unit {
    pub(crate) fn import(&mut self, path: &'static str) {
        self.imports.insert(path);
    }

    pub(crate) fn decl(&mut self, s: Src) {
        self.decls.push(s.finish());
    }

    /// Assemble `package main`, the import block and the declarations,
    /// separated by single blank lines.
    pub(crate) fn assemble(self) -> String {
        let mut out = String::from("package main\n\n");
        if !self.imports.is_empty() {
            out.push_str("import (\n");
            for p in &self.imports {
                out.push('\t');
                out.push('"');
                out.push_str(p);
                out.push_str("\"\n");
            }
            out.push_str(")\n");
        }
        for d in &self.decls {
            out.push('\n');
            out.push_str(d);
        }
        out
    }
}

/// Go spelling of a microsecond duration expression, as gofmt spaces it
/// where it stands alone (a statement or a call's only argument).
pub(crate) fn micros(us: u32) -> String {
    format!("{us} * time.Microsecond")
}

/// The same inside a call with several arguments (gofmt drops the spaces).
pub(crate) fn micros_tight(us: u32) -> String {
    format!("{us}*time.Microsecond")
}
