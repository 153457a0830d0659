//! The repository index `packages.adb`, as `apk mkndx` writes it (apk-tools `src/app_mkndx.c`),
//! optionally signed as `apk mkndx --sign-key` signs it (`src/adb.c`).
//!
//! Each entry is the package's info object with two fields added: its file size and, as its
//! hash, the SHA-256 of its ADB block. apk trusts a package whose block hashes to what a
//! trusted index says, so signing the index is what lets `apk add` go without
//! `--allow-untrusted`.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256, Sha512};

use crate::adb::{self, Reader, Writer, NULL};
use crate::{pkg, schema, Error};

/// apk-tools' number for SHA-512, the only digest its v0 signatures use.
const DIGEST_SHA512: u8 = 4;
const SIGNATURE_VERSION: u8 = 0;
const KEY_ID_LEN: usize = 16;

pub struct Spec {
    pub packages: Vec<PathBuf>,
    pub description: Option<String>,
    /// Where apk finds each package, relative to the index, e.g. `${name}-${version}.apk`
    /// (apk's default) or `${name}-${version}_${arch}.apk` for several architectures side by side.
    pub pkgname_spec: Option<String>,
    /// A PEM private key (EC or RSA) that openssl can sign with.
    pub sign_key: Option<PathBuf>,
}

struct Entry {
    name: Vec<u8>,
    version: Vec<u8>,
    arch: Vec<u8>,
    hash: Vec<u8>,
    val: adb::Val,
}

pub fn build(spec: &Spec) -> Result<Vec<u8>, Error> {
    let mut w = Writer::new();
    let mut entries: Vec<Entry> = Vec::new();
    for path in &spec.packages {
        let file =
            std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        let p = pkg::read(&file).map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        let r = Reader::new(&p.block)?;
        let mut fields = vec![NULL; schema::info::COUNT];
        for (i, &f) in r
            .fields(p.info)?
            .iter()
            .enumerate()
            .take(schema::info::COUNT)
        {
            fields[i] = w.copy(&r, f)?;
        }
        let hash = Sha256::digest(&p.block).to_vec();
        fields[schema::info::FILE_SIZE - 1] = w.int(file.len() as u64);
        fields[schema::info::HASHES - 1] = w.blob(&hash);
        let text = |field| {
            r.field(p.info, field)
                .and_then(|v| r.blob(v))
                .map(<[u8]>::to_vec)
        };
        let entry = Entry {
            name: text(schema::info::NAME)?,
            version: text(schema::info::VERSION)?,
            arch: text(schema::info::ARCH)?,
            hash,
            val: w.object(&fields),
        };
        // apk orders same-named packages by version first; a release of camguard holds one
        // version of each, for several architectures, so the hash alone orders them.
        if let Some(other) = entries.iter().find(|e| e.name == entry.name) {
            if other.version != entry.version || other.arch == entry.arch {
                return Err(Error::Usage(format!(
                    "{}: {} is already indexed for {} at {}: one version per architecture",
                    path.display(),
                    String::from_utf8_lossy(&entry.name),
                    String::from_utf8_lossy(&other.arch),
                    String::from_utf8_lossy(&other.version),
                )));
            }
        }
        entries.push(entry);
    }
    entries.sort_by(|a, b| (&a.name, &a.hash).cmp(&(&b.name, &b.hash)));
    let description = w.blob(spec.description.as_deref().unwrap_or("").as_bytes());
    let pkgname_spec = w.blob(spec.pkgname_spec.as_deref().unwrap_or("").as_bytes());
    let packages = w.object(&entries.iter().map(|e| e.val).collect::<Vec<_>>());
    let mut root = vec![NULL; 3];
    root[schema::index::DESCRIPTION - 1] = description;
    root[schema::index::PACKAGES - 1] = packages;
    root[schema::index::PKGNAME_SPEC - 1] = pkgname_spec;
    let root = w.object(&root);
    let block = w.finish(root).to_vec();

    let mut stream = adb::file_header(adb::SCHEMA_INDEX);
    adb::push_block(&mut stream, adb::BLOCK_ADB, &[&block])?;
    if let Some(key) = &spec.sign_key {
        let signature = sign(key, adb::SCHEMA_INDEX, &block)?;
        adb::push_block(&mut stream, adb::BLOCK_SIG, &[&signature])?;
    }
    Ok(adb::compress(&stream))
}

/// What a v0 signature signs: the schema, the signature header (version, digest, key id) and
/// the SHA-512 of the ADB block. apk verifies it with the key's own SHA-512 digest on top.
pub fn signed_message(schema: u32, header: &[u8], block: &[u8]) -> Vec<u8> {
    let mut message = schema.to_le_bytes().to_vec();
    message.extend_from_slice(header);
    message.extend_from_slice(&Sha512::digest(block));
    message
}

/// The SIG block's payload: version 0, SHA-512, the key id, then the signature.
fn sign(key: &Path, schema: u32, block: &[u8]) -> Result<Vec<u8>, Error> {
    let mut header = vec![SIGNATURE_VERSION, DIGEST_SHA512];
    header.extend_from_slice(&key_id(&public_key_der(key)?)?);
    let message = signed_message(schema, &header, block);
    let key = key
        .to_str()
        .ok_or_else(|| Error::Usage("key path is not UTF-8".into()))?;
    header.extend(openssl(&["dgst", "-sha512", "-sign", key], &message)?);
    Ok(header)
}

/// The key id apk looks keys up by: the first 16 bytes of the SHA-512 of the public key as
/// OpenSSL's i2d_PublicKey writes it, which is the bit string inside SubjectPublicKeyInfo
/// (the EC point, or the PKCS#1 RSA key).
pub fn key_id(spki: &[u8]) -> Result<[u8; KEY_ID_LEN], Error> {
    let bad = || Error::Format("public key is not a DER SubjectPublicKeyInfo".into());
    let (tag, spki, _) = der(spki).ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let (tag, _, rest) = der(spki).ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let (tag, bits, _) = der(rest).ok_or_else(bad)?;
    if tag != 0x03 || bits.first() != Some(&0) {
        return Err(bad());
    }
    let digest = Sha512::digest(&bits[1..]);
    Ok(digest[..KEY_ID_LEN].try_into().unwrap())
}

/// One DER item: tag, contents, what follows.
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |l, &x| l << 8 | x as usize);
        (len, 2 + n)
    };
    let contents = b.get(head..head + len)?;
    Some((tag, contents, &b[head + len..]))
}

pub fn public_key_der(private_key: &Path) -> Result<Vec<u8>, Error> {
    let key = private_key
        .to_str()
        .ok_or_else(|| Error::Usage("key path is not UTF-8".into()))?;
    openssl(&["pkey", "-in", key, "-pubout", "-outform", "DER"], &[])
}

fn openssl(args: &[&str], stdin: &[u8]) -> Result<Vec<u8>, Error> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Io(format!("openssl (Debian package openssl): {e}")))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin)
        .map_err(|e| Error::Io(format!("openssl: {e}")))?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Io(format!("openssl: {e}")))?;
    if !out.status.success() {
        return Err(Error::Io(format!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(dir: &Path, name: &str, version: &str, arch: &str, files: &Path) -> PathBuf {
        let spec = pkg::Spec {
            info: vec![
                ("name".into(), name.into()),
                ("version".into(), version.into()),
                ("arch".into(), arch.into()),
            ],
            scripts: vec![],
            files: files.to_path_buf(),
            mtime: Some(1_700_000_000),
        };
        let path = dir.join(format!("{name}-{version}_{arch}.apk"));
        std::fs::write(&path, pkg::build(&spec).unwrap()).unwrap();
        path
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("apkpack-ndx-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("files/usr")).unwrap();
        std::fs::write(d.join("files/usr/f"), b"data").unwrap();
        d
    }

    fn index(packages: &[PathBuf]) -> Result<Vec<u8>, Error> {
        build(&Spec {
            packages: packages.to_vec(),
            description: Some("t".into()),
            pkgname_spec: Some("${name}-${version}_${arch}.apk".into()),
            sign_key: None,
        })
    }

    #[test]
    fn entries_are_sorted_and_carry_file_size_and_block_hash() {
        let d = scratch("plain");
        let files = d.join("files");
        let zeta = package(&d, "zeta", "1.0-r1", "noarch", &files);
        let mips = package(&d, "alpha", "1.0-r1", "mips_24kc", &files);
        let x86 = package(&d, "alpha", "1.0-r1", "x86_64", &files);
        let file = index(&[zeta.clone(), mips.clone(), x86.clone()]).unwrap();
        let stream = adb::decompress(&file).unwrap();
        let (schema, blocks) = adb::parse(&stream).unwrap();
        assert_eq!((schema, blocks.len()), (adb::SCHEMA_INDEX, 1));
        let r = Reader::new(blocks[0].payload).unwrap();
        let spec = r.field(r.root(), schema::index::PKGNAME_SPEC).unwrap();
        assert_eq!(r.blob(spec).unwrap(), b"${name}-${version}_${arch}.apk");
        let pkgs = r
            .fields(r.field(r.root(), schema::index::PACKAGES).unwrap())
            .unwrap();
        let mut seen = Vec::new();
        for &p in &pkgs {
            let name = r
                .blob(r.field(p, schema::info::NAME).unwrap())
                .unwrap()
                .to_vec();
            let arch = r.blob(r.field(p, schema::info::ARCH).unwrap()).unwrap();
            let path = d.join(format!(
                "{}-1.0-r1_{}.apk",
                String::from_utf8_lossy(&name),
                String::from_utf8_lossy(arch)
            ));
            let bytes = std::fs::read(path).unwrap();
            let size = r.int(r.field(p, schema::info::FILE_SIZE).unwrap()).unwrap();
            assert_eq!(size, bytes.len() as u64);
            let block = pkg::read(&bytes).unwrap().block;
            let hash = r.blob(r.field(p, schema::info::HASHES).unwrap()).unwrap();
            assert_eq!(hash, &Sha256::digest(&block)[..]);
            seen.push((name, hash.to_vec()));
        }
        let names: Vec<_> = seen.iter().map(|s| s.0.as_slice()).collect();
        assert_eq!(names, [&b"alpha"[..], b"alpha", b"zeta"]);
        assert!(
            seen[0].1 < seen[1].1,
            "same name: ordered by hash, as apk orders them"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_second_package_for_one_architecture_or_another_version_is_refused() {
        let d = scratch("twice");
        let files = d.join("files");
        let a = package(&d, "alpha", "1.0-r1", "x86_64", &files);
        assert!(index(&[a.clone(), a.clone()]).is_err());
        let newer = package(&d, "alpha", "1.0-r2", "mips_24kc", &files);
        assert!(index(&[a, newer]).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn key_id_hashes_the_bit_string_of_the_public_key() {
        // SEQUENCE { SEQUENCE { OID }, BIT STRING (0 unused bits) 04 01 02 }
        let spki = [
            0x30, 0x0b, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x03, 0x04, 0x00, 0x04, 0x01,
        ];
        assert!(key_id(&spki).is_err(), "the bit string runs past the end");
        let spki = [
            0x30, 0x0c, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x03, 0x04, 0x00, 0x04, 0x01, 0x02,
        ];
        assert_eq!(
            key_id(&spki).unwrap()[..],
            Sha512::digest([0x04, 0x01, 0x02])[..16]
        );
    }

    #[test]
    fn a_signature_verifies_with_the_public_key_over_schema_header_and_block_digest() {
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("openssl missing (scripts/setup installs it): signature not checked");
            return;
        }
        let d = scratch("signed");
        let a = package(&d, "alpha", "1.0-r1", "x86_64", &d.join("files"));
        let key = d.join("key.pem");
        let ok = Command::new("openssl")
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(&key)
            .status()
            .unwrap();
        assert!(ok.success());
        let file = build(&Spec {
            packages: vec![a],
            description: None,
            pkgname_spec: None,
            sign_key: Some(key.clone()),
        })
        .unwrap();
        let stream = adb::decompress(&file).unwrap();
        let (_, blocks) = adb::parse(&stream).unwrap();
        assert_eq!(
            blocks.iter().map(|b| b.kind).collect::<Vec<_>>(),
            [adb::BLOCK_ADB, adb::BLOCK_SIG]
        );
        let sig = blocks[1].payload;
        let spki = public_key_der(&key).unwrap();
        assert_eq!(&sig[..2], &[SIGNATURE_VERSION, DIGEST_SHA512]);
        assert_eq!(sig[2..18], key_id(&spki).unwrap());
        let message = signed_message(adb::SCHEMA_INDEX, &sig[..18], blocks[0].payload);
        std::fs::write(d.join("msg"), &message).unwrap();
        std::fs::write(d.join("sig"), &sig[18..]).unwrap();
        std::fs::write(d.join("pub.der"), &spki).unwrap();
        let verified = Command::new("openssl")
            .args(["dgst", "-sha512", "-keyform", "DER", "-verify"])
            .arg(d.join("pub.der"))
            .arg("-signature")
            .arg(d.join("sig"))
            .arg(d.join("msg"))
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stderr)
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
