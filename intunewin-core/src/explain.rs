//! Intune Win32 error codes: phase, cause and fix (`intunewin explain`).
