//! Describing packages to others: what a Microsoft Graph upload needs, and what changed
//! between two packages.

pub(crate) mod diff;
pub(crate) mod graph;
