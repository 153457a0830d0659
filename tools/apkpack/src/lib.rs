//! apkpack: writes OpenWrt's apk v3 packages (OpenWrt 25.x, apk-tools 3) and their signed
//! index for camguard's release, without apk-tools: no package registry ships apk-tools 3 or a
//! library for its format. Written from the format's documentation (apk-tools
//! `doc/apk-v3.5.scd`, `doc/apk-package.5.scd`) and the facts of apk-tools 3.0's reader and
//! writer; the options are `apk mkpkg`'s and `apk mkndx`'s, so scripts/package reads like
//! OpenWrt's include/package-pack.mk.
pub mod adb;
pub mod ndx;
pub mod pkg;
pub mod schema;
pub mod version;

#[derive(Debug)]
pub enum Error {
    /// The command line asks for something apkpack does not write.
    Usage(String),
    /// A file could not be read or written, or openssl failed.
    Io(String),
    /// Input that is not what it should be: a malformed package, a special file to pack.
    Format(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) | Error::Io(m) | Error::Format(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
