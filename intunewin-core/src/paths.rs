//! The path classifier: device-side and safety rules for entry names (FORMAT.md §12).
