//! Stand-in for procd's `system` object: `board` and `info` (procd system.c).
//!
//! `board` reads the router's files under ROOT the way procd reads them on the router:
//! ROOT/usr/lib/os-release for `release` (or, as procd did before 2021, ROOT/etc/openwrt_release),
//! ROOT/tmp/sysinfo/model and board_name, ROOT/proc/cpuinfo, ROOT/proc/mounts. The kernel and
//! hostname come from ROOT/proc/sys/kernel/{osrelease,hostname} when the root has them, else the
//! hostname from `system.@system[0].hostname` and the host's kernel release. `info` is the
//! host's (uptime, load, memory) with `root`/`tmp` measured on ROOT and ROOT/tmp.

use std::ffi::CStr;
use std::fs;
use std::mem::MaybeUninit;
use std::path::Path;

use crate::blob::{Fields, V};
use crate::ctx::{bind, Shared};
use crate::provider::{Object, Reply, UNKNOWN_ERROR};

pub fn object(ctx: Shared) -> Object {
    Object::new("system")
        .method("board", &[], bind(&ctx, |c, _| board(c)))
        .method("info", &[], bind(&ctx, |c, _| info(c)))
}

fn read_first_line(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let line = text.split(['\t', '\n']).find(|s| !s.is_empty())?;
    Some(line.to_string())
}

fn uname() -> Option<(String, String)> {
    let mut u = MaybeUninit::<libc::utsname>::zeroed();
    // SAFETY: uname fills the struct it is given; on success every field is NUL-terminated.
    unsafe {
        if libc::uname(u.as_mut_ptr()) != 0 {
            return None;
        }
        let u = u.assume_init();
        let release = CStr::from_ptr(u.release.as_ptr())
            .to_string_lossy()
            .into_owned();
        let node = CStr::from_ptr(u.nodename.as_ptr())
            .to_string_lossy()
            .into_owned();
        Some((release, node))
    }
}

/// procd's cpuinfo scan: `key<TAB>: value` lines, `val + 2` skipping ": ".
fn cpuinfo_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let key_end = line.find(['\t', ':'])?;
        let key = &line[..key_end];
        let rest = line[key_end..].trim_start_matches('\t');
        let val = rest.get(2..)?;
        (!key.is_empty() && !rest.is_empty()).then_some((key, val))
    })
}

fn cpu_system(text: &str) -> Option<String> {
    for (key, val) in cpuinfo_lines(text) {
        let k = key.to_ascii_lowercase();
        if ["system type", "processor", "cpu", "model name"].contains(&k.as_str())
            && val.parse::<u64>().is_err()
        {
            return Some(val.to_string());
        }
    }
    None
}

/// procd's os-release value decoding: only quoted text and backslash-escaped characters are
/// copied, so an unquoted value comes out empty, exactly as on the router.
fn release_value(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                    out.push(d);
                }
            }
            '\\' => {
                if let Some(d) = chars.next() {
                    out.push(d);
                }
            }
            _ => {}
        }
    }
    out
}

fn release(ctx: &Shared) -> Option<Fields> {
    let (text, keys): (String, &[(&str, &str)]) =
        if let Ok(t) = fs::read_to_string(ctx.root.join("/usr/lib/os-release")) {
            let keys: &[(&str, &str)] = &[
                ("NAME", "distribution"),
                ("VERSION", "version"),
                ("BUILD_ID", "revision"),
                ("VERSION_CODENAME", "codename"),
                ("OPENWRT_BOARD", "target"),
                ("OPENWRT_RELEASE", "description"),
                ("OPENWRT_BUILD_DATE", "builddate"),
                ("FIRMWARE_URL", "firmware_url"),
            ];
            (t, keys)
        } else {
            let t = fs::read_to_string(ctx.root.join("/etc/openwrt_release")).ok()?;
            let keys: &[(&str, &str)] = &[
                ("DISTRIB_ID", "distribution"),
                ("DISTRIB_RELEASE", "version"),
                ("DISTRIB_REVISION", "revision"),
                ("DISTRIB_CODENAME", "codename"),
                ("DISTRIB_TARGET", "target"),
                ("DISTRIB_DESCRIPTION", "description"),
            ];
            (t, keys)
        };
    let mut fields = Vec::new();
    for line in text.lines() {
        let Some((key, val)) = line.split_once('=') else {
            continue;
        };
        let Some((_, name)) = keys.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) else {
            continue;
        };
        fields.push((name.to_string(), V::str(release_value(val))));
    }
    Some(fields)
}

/// procd's rootfs type: the filesystem mounted on `/`, or under an overlay the one on `/rom`.
fn rootfs_type(mounts: &str) -> Option<String> {
    let mut mount_point = "/";
    for _ in 0..2 {
        for line in mounts.lines() {
            let mut f = line.split(' ');
            let (_, Some(mp), Some(fstype)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if mp != mount_point {
                continue;
            }
            if fstype == "overlay" && mount_point == "/" {
                mount_point = "/rom";
                break;
            }
            if fstype == "overlay" {
                return None;
            }
            return Some(fstype.chars().take(15).collect());
        }
        if mount_point == "/" {
            return None;
        }
    }
    None
}

fn hostname(ctx: &Shared) -> String {
    if let Some(h) = read_first_line(&ctx.root.join("/proc/sys/kernel/hostname")) {
        return h;
    }
    crate::uci::read_package(ctx, "system", false)
        .and_then(|p| {
            p.sections
                .iter()
                .find(|s| s.stype == "system")
                .and_then(|s| s.string("hostname").map(str::to_string))
        })
        .unwrap_or_else(|| "OpenWrt".to_string())
}

fn board(ctx: &Shared) -> Reply {
    let root = &ctx.root;
    let mut f: Fields = Vec::new();
    let kernel = read_first_line(&root.join("/proc/sys/kernel/osrelease"))
        .or_else(|| uname().map(|(release, _)| release))
        .unwrap_or_default();
    f.push(("kernel".into(), V::str(kernel)));
    f.push(("hostname".into(), V::str(hostname(ctx))));
    let cpuinfo = fs::read_to_string(root.join("/proc/cpuinfo"))
        .or_else(|_| fs::read_to_string("/proc/cpuinfo"))
        .unwrap_or_default();
    if let Some(system) = cpu_system(&cpuinfo) {
        f.push(("system".into(), V::str(system)));
    }
    let model = read_first_line(&root.join("/tmp/sysinfo/model"))
        .or_else(|| read_first_line(&root.join("/proc/device-tree/model")))
        .or_else(|| {
            cpuinfo_lines(&cpuinfo)
                .find(|(k, _)| {
                    k.eq_ignore_ascii_case("machine") || k.eq_ignore_ascii_case("hardware")
                })
                .map(|(_, v)| v.to_string())
        });
    if let Some(model) = model {
        f.push(("model".into(), V::str(model)));
    }
    let board_name = read_first_line(&root.join("/tmp/sysinfo/board_name")).or_else(|| {
        read_first_line(&root.join("/proc/device-tree/compatible")).map(|c| c.replace(',', "-"))
    });
    if let Some(b) = board_name {
        f.push(("board_name".into(), V::str(b)));
    }
    if let Some(t) = fs::read_to_string(root.join("/proc/mounts"))
        .ok()
        .and_then(|m| rootfs_type(&m))
    {
        f.push(("rootfs_type".into(), V::str(t)));
    }
    if let Some(release) = release(ctx) {
        f.push(("release".into(), V::Table(release)));
    }
    Reply::data(f)
}

fn statvfs(path: &Path) -> Option<Fields> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut s = MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: c is a valid NUL-terminated path and s a writable statvfs.
    let s = unsafe {
        if libc::statvfs(c.as_ptr(), s.as_mut_ptr()) != 0 {
            return None;
        }
        s.assume_init()
    };
    let k = |blocks: u64| ((blocks as u128 * s.f_frsize as u128 + 512) / 1024) as i64;
    Some(vec![
        ("total".into(), V::I64(k(s.f_blocks as u64))),
        ("free".into(), V::I64(k(s.f_bfree as u64))),
        (
            "used".into(),
            V::I64(k(s.f_blocks as u64 - s.f_bfree as u64)),
        ),
        ("avail".into(), V::I64(k(s.f_bavail as u64))),
    ])
}

fn info(ctx: &Shared) -> Reply {
    let mut si = MaybeUninit::<libc::sysinfo>::zeroed();
    // SAFETY: sysinfo fills the struct it is given.
    let si = unsafe {
        if libc::sysinfo(si.as_mut_ptr()) != 0 {
            return Reply::status(UNKNOWN_ERROR);
        }
        si.assume_init()
    };
    let Ok(meminfo) = fs::read_to_string("/proc/meminfo") else {
        return Reply::status(UNKNOWN_ERROR);
    };
    let mem = |key: &str| -> i64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<i64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    // SAFETY: time(NULL) has no preconditions; localtime_r writes into the given tm.
    let (now, gmtoff) = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm = MaybeUninit::<libc::tm>::zeroed();
        let off = if libc::localtime_r(&now, tm.as_mut_ptr()).is_null() {
            0
        } else {
            tm.assume_init().tm_gmtoff
        };
        (now, off)
    };
    let unit = u64::from(si.mem_unit);
    let mut f: Fields = vec![
        ("localtime".into(), V::I32((now + gmtoff) as i32)),
        ("uptime".into(), V::I32(si.uptime as i32)),
        (
            "load".into(),
            V::Array(si.loads.iter().map(|l| V::I32(*l as i32)).collect()),
        ),
        (
            "memory".into(),
            V::Table(vec![
                ("total".into(), V::I64((unit * si.totalram as u64) as i64)),
                ("free".into(), V::I64((unit * si.freeram as u64) as i64)),
                ("shared".into(), V::I64((unit * si.sharedram as u64) as i64)),
                (
                    "buffered".into(),
                    V::I64((unit * si.bufferram as u64) as i64),
                ),
                ("available".into(), V::I64(mem("MemAvailable"))),
                ("cached".into(), V::I64(mem("Cached"))),
            ]),
        ),
    ];
    for (dir, key) in [("/", "root"), ("/tmp", "tmp")] {
        if let Some(fs) = statvfs(&ctx.root.join(dir)) {
            f.push((key.into(), V::Table(fs)));
        }
    }
    f.push((
        "swap".into(),
        V::Table(vec![
            ("total".into(), V::I64((unit * si.totalswap as u64) as i64)),
            ("free".into(), V::I64((unit * si.freeswap as u64) as i64)),
        ]),
    ));
    Reply::data(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_values_like_procd() {
        assert_eq!(release_value("\"23.05.3\""), "23.05.3");
        assert_eq!(
            release_value("'OpenWrt 21.02.7 r16847'"),
            "OpenWrt 21.02.7 r16847"
        );
        assert_eq!(release_value("OpenWrt"), "");
        assert_eq!(release_value("\"a\\\"b\""), "a\\");
    }

    #[test]
    fn rootfs_under_overlay_is_the_rom() {
        let m = "overlayfs:/overlay / overlay rw 0 0\n/dev/root /rom squashfs ro 0 0\n";
        assert_eq!(rootfs_type(m).as_deref(), Some("squashfs"));
        assert_eq!(
            rootfs_type("/dev/sda2 / ext4 rw 0 0\n").as_deref(),
            Some("ext4")
        );
    }

    #[test]
    fn cpuinfo_model_name() {
        let c = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\n";
        assert_eq!(cpu_system(c).as_deref(), Some("Intel(R) Xeon(R)"));
    }
}
