//! MsiInfo from an `.msi` database, on every OS (FORMAT.md §8).
