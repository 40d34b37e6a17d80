//! Credential checks shared by the gRPC TCP listener and the WebDAV share.

/// Compares without stopping at the first difference, so response timing does not reveal
/// how much of a secret was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
