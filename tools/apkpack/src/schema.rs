//! Field numbers of the schemas apk-tools 3 reads (`src/apk_adb.h`); names as in
//! `apk-package(5)` and as `apk mkpkg --info NAME:VALUE` takes them.

/// Package info: in every package, and copied into the index.
pub mod info {
    pub const NAME: usize = 1;
    pub const VERSION: usize = 2;
    pub const HASHES: usize = 3;
    pub const DESCRIPTION: usize = 4;
    pub const ARCH: usize = 5;
    pub const LICENSE: usize = 6;
    pub const ORIGIN: usize = 7;
    pub const MAINTAINER: usize = 8;
    pub const URL: usize = 9;
    pub const REPO_COMMIT: usize = 10;
    pub const BUILD_TIME: usize = 11;
    pub const INSTALLED_SIZE: usize = 12;
    pub const FILE_SIZE: usize = 13;
    pub const PROVIDER_PRIORITY: usize = 14;
    pub const DEPENDS: usize = 15;
    pub const PROVIDES: usize = 16;
    pub const REPLACES: usize = 17;
    pub const INSTALL_IF: usize = 18;
    pub const RECOMMENDS: usize = 19;
    pub const LAYER: usize = 20;
    pub const TAGS: usize = 21;
    pub const COUNT: usize = 21;

    /// What `--info` accepts, and how each value is stored.
    pub const FIELDS: &[(&str, usize, Kind)] = &[
        ("name", NAME, Kind::Name),
        ("version", VERSION, Kind::Version),
        ("description", DESCRIPTION, Kind::Text),
        ("arch", ARCH, Kind::Text),
        ("license", LICENSE, Kind::Text),
        ("origin", ORIGIN, Kind::Text),
        ("maintainer", MAINTAINER, Kind::Text),
        ("url", URL, Kind::Text),
        ("build-time", BUILD_TIME, Kind::Int),
        ("provider-priority", PROVIDER_PRIORITY, Kind::Int),
        ("depends", DEPENDS, Kind::Dependencies),
        ("provides", PROVIDES, Kind::Dependencies),
        ("replaces", REPLACES, Kind::Dependencies),
        ("install-if", INSTALL_IF, Kind::Dependencies),
        ("recommends", RECOMMENDS, Kind::Dependencies),
        ("layer", LAYER, Kind::Int),
    ];

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Kind {
        Name,
        Version,
        Text,
        Int,
        Dependencies,
    }
}

/// A dependency: a name, with a version and a match operator when it has a constraint.
pub mod dependency {
    pub const NAME: usize = 1;
}

/// Permissions of a file or directory.
pub mod acl {
    pub const MODE: usize = 1;
    pub const USER: usize = 2;
    pub const GROUP: usize = 3;
}

pub mod file {
    pub const NAME: usize = 1;
    pub const ACL: usize = 2;
    pub const SIZE: usize = 3;
    pub const MTIME: usize = 4;
    pub const HASH: usize = 5;
    pub const TARGET: usize = 6;
}

pub mod dir {
    pub const NAME: usize = 1;
    pub const ACL: usize = 2;
    pub const FILES: usize = 3;
}

/// The scripts, in field order; `--script NAME:FILE` takes these names.
pub mod scripts {
    pub const NAMES: [&str; 7] = [
        "trigger",
        "pre-install",
        "post-install",
        "pre-deinstall",
        "post-deinstall",
        "pre-upgrade",
        "post-upgrade",
    ];
}

pub mod package {
    pub const INFO: usize = 1;
    pub const PATHS: usize = 2;
    pub const SCRIPTS: usize = 3;
}

pub mod index {
    pub const DESCRIPTION: usize = 1;
    pub const PACKAGES: usize = 2;
    pub const PKGNAME_SPEC: usize = 3;
}
