//! HTTP mapping shared by every driver: which status means what, and when to retry.
//!
//! Pure functions of status codes, headers and attempt counts; the drivers do the IO.
