//! The momod gRPC API (`momo.v1`) and the few facts client and daemon must agree on.
use std::path::PathBuf;

pub mod codec;

#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("momo.v1");
}

/// The largest subtitle file momod accepts (`SubtitleService.Add`, and from any source).
pub const MAX_SUBTITLE_BYTES: usize = 5 * 1024 * 1024;
/// What an `AddSubtitleRequest` may take on the wire: the largest file and room for the rest.
pub const MAX_SUBTITLE_REQUEST_BYTES: usize = MAX_SUBTITLE_BYTES + 64 * 1024;

/// The largest M3U playlist momoctl sends (`ImportM3uRequest.playlist`); a larger one is
/// given by URL, which momod fetches.
pub const MAX_PLAYLIST_BYTES: usize = 16 * 1024 * 1024;
/// What a request carrying a playlist may take on the wire.
pub const MAX_PLAYLIST_REQUEST_BYTES: usize = MAX_PLAYLIST_BYTES + 64 * 1024;

/// Encoded descriptor set, served by the daemon's reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("momo_descriptor");

/// Environment variable naming the data dir, honoured by `momod` and `momoctl` alike.
pub const DATA_DIR_ENV: &str = "MOMO_DATA_DIR";

/// File name of the control socket inside the data dir.
pub const SOCKET_NAME: &str = "momod.sock";

/// Metadata key carrying the token on the TCP listener (`authorization: Bearer <token>`).
pub const AUTH_HEADER: &str = "authorization";

/// The data dir when neither a flag nor a config file says otherwise:
/// `$MOMO_DATA_DIR`, else the platform data dir (`~/.local/share/momoshtrem`).
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::data_dir()
            .or_else(|| dirs::home_dir().map(|h| h.join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("momoshtrem"),
    }
}

/// gRPC code names as the spec writes them (`NotFound`, `AlreadyExists`, …): what momoctl
/// prints and what a failed job records, stable for scripts.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "Ok",
        Code::Cancelled => "Cancelled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// The inverse of `code_name`; `Unknown` for a name it does not know.
pub fn code_from_name(name: &str) -> tonic::Code {
    (0..=16)
        .map(tonic::Code::from_i32)
        .find(|c| code_name(*c) == name)
        .unwrap_or(tonic::Code::Unknown)
}
