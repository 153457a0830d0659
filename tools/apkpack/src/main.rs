//! `apkpack mkpkg` and `apkpack mkndx`: the subset of `apk mkpkg` and `apk mkndx` that
//! OpenWrt's package build uses, with the same options.
use std::path::PathBuf;
use std::process::ExitCode;

use apkpack::{ndx, pkg, Error};

const USAGE: &str = "\
apkpack — writes apk v3 packages and indexes (the format of apk-tools 3, OpenWrt 25.x)

Usage:
  apkpack mkpkg --info NAME:VALUE... [--script TYPE:FILE]... --files DIR --output FILE
  apkpack mkndx [--description TEXT] [--pkgname-spec SPEC] [--sign-key KEY.pem] --output FILE
                PACKAGE...

mkpkg options (as `apk mkpkg`):
  --info NAME:VALUE   package info: name and version (required), description, arch, license,
                      origin, maintainer, url, depends (space-separated names), provides, …
  --script TYPE:FILE  pre-install, post-install, pre-upgrade, post-upgrade, pre-deinstall,
                      post-deinstall or trigger
  --files DIR         the package's root; every file and directory under it is root's
  --output FILE       where to write the package

  Every mtime is SOURCE_DATE_EPOCH when it is set, as apk does, so the bytes are reproducible.

mkndx options (as `apk mkndx`):
  --description TEXT  the index's description
  --pkgname-spec SPEC where apk finds each package next to the index (default
                      ${name}-${version}.apk); ${arch} lets several architectures share a directory
  --sign-key KEY.pem  sign with this EC or RSA private key (through openssl); a router trusts
                      the index once the public key is in /etc/apk/keys/
  --output FILE       where to write the index (packages.adb)
";

fn value(parser: &mut lexopt::Parser) -> Result<String, Error> {
    parser
        .value()
        .map_err(|e| Error::Usage(e.to_string()))?
        .into_string()
        .map_err(|v| Error::Usage(format!("not UTF-8: {v:?}")))
}

fn split(option: &str, arg: &str) -> Result<(String, String), Error> {
    arg.split_once(':')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| Error::Usage(format!("{option} {arg}: expected NAME:VALUE")))
}

fn source_date_epoch() -> Result<Option<u64>, Error> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map(Some)
            .map_err(|_| Error::Usage(format!("SOURCE_DATE_EPOCH={v} is not a number"))),
        _ => Ok(None),
    }
}

fn mkpkg(parser: &mut lexopt::Parser) -> Result<(), Error> {
    use lexopt::Arg::*;
    let (mut info, mut scripts, mut files, mut output) = (Vec::new(), Vec::new(), None, None);
    while let Some(arg) = parser.next().map_err(|e| Error::Usage(e.to_string()))? {
        match arg {
            Long("info") | Short('I') => info.push(split("--info", &value(parser)?)?),
            Long("script") | Short('s') => {
                let (kind, file) = split("--script", &value(parser)?)?;
                let body = std::fs::read(&file).map_err(|e| Error::Io(format!("{file}: {e}")))?;
                scripts.push((kind, body));
            }
            Long("files") | Short('F') => files = Some(PathBuf::from(value(parser)?)),
            Long("output") | Short('o') => output = Some(PathBuf::from(value(parser)?)),
            other => return Err(Error::Usage(other.unexpected().to_string())),
        }
    }
    let files = files.ok_or_else(|| Error::Usage("mkpkg: --files DIR is required".into()))?;
    let output = output.ok_or_else(|| Error::Usage("mkpkg: --output FILE is required".into()))?;
    let bytes = pkg::build(&pkg::Spec {
        info,
        scripts,
        files,
        mtime: source_date_epoch()?,
    })?;
    std::fs::write(&output, bytes).map_err(|e| Error::Io(format!("{}: {e}", output.display())))
}

fn mkndx(parser: &mut lexopt::Parser) -> Result<(), Error> {
    use lexopt::Arg::*;
    let (mut packages, mut description, mut pkgname_spec, mut sign_key, mut output) =
        (Vec::new(), None, None, None, None);
    while let Some(arg) = parser.next().map_err(|e| Error::Usage(e.to_string()))? {
        match arg {
            Long("description") | Short('d') => description = Some(value(parser)?),
            Long("pkgname-spec") => pkgname_spec = Some(value(parser)?),
            Long("sign-key") => sign_key = Some(PathBuf::from(value(parser)?)),
            Long("output") | Short('o') => output = Some(PathBuf::from(value(parser)?)),
            Value(v) => packages.push(PathBuf::from(v)),
            other => return Err(Error::Usage(other.unexpected().to_string())),
        }
    }
    let output = output.ok_or_else(|| Error::Usage("mkndx: --output FILE is required".into()))?;
    let bytes = ndx::build(&ndx::Spec {
        packages,
        description,
        pkgname_spec,
        sign_key,
    })?;
    std::fs::write(&output, bytes).map_err(|e| Error::Io(format!("{}: {e}", output.display())))
}

fn main() -> ExitCode {
    let mut parser = lexopt::Parser::from_env();
    let result = match parser.next() {
        Ok(Some(lexopt::Arg::Value(cmd))) if cmd == "mkpkg" => mkpkg(&mut parser),
        Ok(Some(lexopt::Arg::Value(cmd))) if cmd == "mkndx" => mkndx(&mut parser),
        Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h'))) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(Error::Usage(
            "expected mkpkg or mkndx (apkpack --help)".into(),
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apkpack: {e}");
            ExitCode::from(if matches!(e, Error::Usage(_)) { 2 } else { 1 })
        }
    }
}
