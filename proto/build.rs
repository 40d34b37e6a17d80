//! Compiles `proto/momo/v1/*.proto` with protox (pure Rust), so no system `protoc` is needed.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // compile_fds() does not emit rerun-if-changed by itself.
    println!("cargo:rerun-if-changed=proto");
    let protos = ["proto/momo/v1/momo.proto"];
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(protos)?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("momo_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Garbage requests are InvalidArgument, not Internal (see src/codec.rs).
        .codec_path("crate::codec::ProstCodec")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
