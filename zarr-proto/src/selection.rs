//! Selections with numpy semantics (stub: being implemented).
