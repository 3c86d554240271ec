//! Describing packages to others: what a Microsoft Graph upload needs, and what changed
//! between two packages.

pub mod diff;
pub mod graph;
