//! The read state machine (stub: being implemented).
