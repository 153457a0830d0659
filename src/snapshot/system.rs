//! Firmware release and root account state.
use serde::Serialize;

/// The OpenWrt release running on the router.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Release {
    pub distribution: Option<String>,
    /// `DISTRIB_RELEASE`, e.g. `24.10.2`, `23.05-SNAPSHOT`, `SNAPSHOT`.
    pub version: String,
    pub revision: Option<String>,
    pub target: Option<String>,
    pub description: Option<String>,
}

impl Release {
    /// Reads /etc/openwrt_release (`DISTRIB_*='…'` shell assignments).
    pub fn from_openwrt_release(text: &str) -> Option<Release> {
        let vars = shell_vars(text);
        let get = |key: &str| lookup(&vars, key);
        Some(Release {
            distribution: get("DISTRIB_ID"),
            version: get("DISTRIB_RELEASE")?,
            revision: get("DISTRIB_REVISION"),
            target: get("DISTRIB_TARGET"),
            description: get("DISTRIB_DESCRIPTION"),
        })
    }

    /// Reads /usr/lib/os-release (`VERSION_ID`, `BUILD_ID`, `OPENWRT_BOARD`, `PRETTY_NAME`).
    pub fn from_os_release(text: &str) -> Option<Release> {
        let vars = shell_vars(text);
        let get = |key: &str| lookup(&vars, key);
        Some(Release {
            distribution: get("NAME"),
            version: get("VERSION_ID").or_else(|| get("VERSION"))?,
            revision: get("BUILD_ID"),
            target: get("OPENWRT_BOARD"),
            description: get("PRETTY_NAME"),
        })
    }

    /// `(major, minor)` of a numbered release (`24.10.2` → (24, 10)); `None` for snapshots of
    /// the main branch and anything unrecognised.
    pub fn branch(&self) -> Option<(u32, u32)> {
        let mut parts = self.version.split(['.', '-']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }
}

/// A non-empty value of `key`.
/// A value still holding a build-time placeholder (`%V`: base-files' template, not a built
/// image) says nothing.
fn lookup(vars: &[(String, String)], key: &str) -> Option<String> {
    let placeholder = |v: &str| {
        v.as_bytes()
            .windows(2)
            .any(|w| w[0] == b'%' && w[1].is_ascii_alphabetic())
    };
    vars.iter()
        .find(|(k, v)| k == key && !v.is_empty() && !placeholder(v))
        .map(|(_, v)| v.clone())
}

/// `KEY='value'` / `KEY="value"` / `KEY=value` lines, as the shell would read simple ones.
fn shell_vars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once('=')?;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return None;
            }
            let value = value.trim();
            let unquoted = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(value);
            Some((key.to_owned(), unquoted.to_owned()))
        })
        .collect()
}

/// The root account's password state from /etc/shadow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RootPassword {
    /// Empty password field: anyone can log in (OpenWrt's state straight after flashing).
    Empty,
    /// `*` or `!…`: password login impossible.
    Locked,
    Set,
}

impl RootPassword {
    pub fn from_shadow(text: &str) -> Option<RootPassword> {
        let line = text.lines().find(|l| l.starts_with("root:"))?;
        let hash = line.split(':').nth(1)?;
        Some(if hash.is_empty() {
            RootPassword::Empty
        } else if hash.starts_with('*') || hash.starts_with('!') {
            RootPassword::Locked
        } else {
            RootPassword::Set
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct System {
    pub hostname: Option<String>,
    pub model: Option<String>,
    pub release: Option<Release>,
    pub root_password: Option<RootPassword>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openwrt_release() {
        let r = Release::from_openwrt_release(
            "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='21.02.3'\nDISTRIB_REVISION='r16554-1d4dea6d4f'\n\
             DISTRIB_TARGET='ramips/mt7621'\nDISTRIB_DESCRIPTION='OpenWrt 21.02.3 r16554-1d4dea6d4f'\n",
        )
        .unwrap();
        assert_eq!(r.version, "21.02.3");
        assert_eq!(r.branch(), Some((21, 2)));
        assert_eq!(r.target.as_deref(), Some("ramips/mt7621"));
    }

    #[test]
    fn snapshot_builds_have_no_branch_but_branch_snapshots_do() {
        let v = |s: &str| Release {
            version: s.into(),
            ..Default::default()
        };
        assert_eq!(v("SNAPSHOT").branch(), None);
        assert_eq!(v("23.05-SNAPSHOT").branch(), Some((23, 5)));
        assert_eq!(v("25.12.0-rc1").branch(), Some((25, 12)));
    }

    #[test]
    fn shadow_states() {
        assert_eq!(
            RootPassword::from_shadow("root:::0:99999:7:::\n"),
            Some(RootPassword::Empty)
        );
        assert_eq!(
            RootPassword::from_shadow("root:$1$ab$cd:19000:0:99999:7:::"),
            Some(RootPassword::Set)
        );
        assert_eq!(
            RootPassword::from_shadow("root:*:0:0:99999:7:::"),
            Some(RootPassword::Locked)
        );
        assert_eq!(RootPassword::from_shadow("daemon:*:0:0:99999:7:::"), None);
    }
}
