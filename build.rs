//! Generates include/imkit.h (into OUT_DIR; copied over the committed header when
//! IMKIT_BLESS_HEADER=1) with version and ABI macros taken from Cargo.toml, and sets the
//! shared library's SONAME.

use std::path::PathBuf;

/// Reads `abi-version` from `[package.metadata.imkit]` in Cargo.toml.
fn abi_version(manifest: &str) -> u32 {
    let section = manifest
        .split("[package.metadata.imkit]")
        .nth(1)
        .expect("Cargo.toml needs a [package.metadata.imkit] section");
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix("abi-version"))
        .and_then(|rest| rest.trim().strip_prefix('='))
        .and_then(|v| v.trim().parse().ok())
        .expect("[package.metadata.imkit] needs abi-version = N")
}

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let abi = abi_version(&manifest);
    let v = |k: &str| std::env::var(k).unwrap();
    let (major, minor, patch) = (
        v("CARGO_PKG_VERSION_MAJOR"),
        v("CARGO_PKG_VERSION_MINOR"),
        v("CARGO_PKG_VERSION_PATCH"),
    );
    let number = major.parse::<u32>().unwrap() * 10000
        + minor.parse::<u32>().unwrap() * 100
        + patch.parse::<u32>().unwrap();
    println!("cargo:rustc-env=IMKIT_ABI_VERSION={abi}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libimkit.so.{abi}");
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-env-changed=IMKIT_BLESS_HEADER");

    let macros = format!(
        "\n#define IMKIT_VERSION_MAJOR {major}\n#define IMKIT_VERSION_MINOR {minor}\n\
         #define IMKIT_VERSION_PATCH {patch}\n#define IMKIT_VERSION_NUMBER {number}\n\
         #define IMKIT_VERSION_STRING \"{major}.{minor}.{patch}\"\n#define IMKIT_ABI_VERSION {abi}\n\n\
         #if defined(__cplusplus) && __cplusplus >= 201703L\n#define IMKIT_NODISCARD [[nodiscard]]\n\
         #elif defined(__GNUC__) || defined(__clang__)\n\
         #define IMKIT_NODISCARD __attribute__((warn_unused_result))\n\
         #else\n#define IMKIT_NODISCARD\n#endif\n"
    );
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let header = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .with_after_include(macros)
        .generate()
        .expect("cbindgen could not generate imkit.h");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("imkit.h");
    header.write_to_file(&out);
    if std::env::var("IMKIT_BLESS_HEADER").as_deref() == Ok("1") {
        std::fs::copy(&out, dir.join("include/imkit.h")).expect("cannot write include/imkit.h");
    }
}
