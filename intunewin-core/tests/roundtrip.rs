//! Round trips (issue 2, "must show"): random trees → pack → extract give back the same tree
//! (paths, bytes, empty folders) with mtimes truncated to even seconds (FORMAT.md §5.3); files
//! over `pack::IN_MEMORY_LIMIT` take the streamed path with a data descriptor; every
//! compression option round-trips; `list` hashes match the source files.
//!
//! The tree helpers here are shared with `independent.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use filetime::FileTime;
use intunewin_core::__private::IN_MEMORY_LIMIT;
use intunewin_core::EntryInfo;
use intunewin_core::{ExtractOptions, PackOptions, Package, ReadOptions};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// Splitmix64: seeded pseudo-random bytes, fast enough to fill gigabytes.
pub(crate) struct Prng(u64);

impl Prng {
    pub(crate) fn new(seed: u64) -> Self {
        Prng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// `len` incompressible bytes.
pub(crate) fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    Prng::new(seed).fill(&mut buf);
    buf
}

/// `len` bytes of text that deflate shrinks several times over.
pub(crate) fn compressible_bytes(seed: u64, len: usize) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "install",
        "Program Files",
        "HKLM",
        "setup",
        "msiexec",
        "/quiet",
        "détection",
        "版本",
    ];
    let mut prng = Prng::new(seed);
    let mut out = Vec::with_capacity(len + 64);
    let mut line = 0u64;
    while out.len() < len {
        let word = WORDS[(prng.next_u64() % 8) as usize];
        out.extend_from_slice(
            format!("{line:06} {word} = {}\r\n", prng.next_u64() % 100).as_bytes(),
        );
        line += 1;
    }
    out.truncate(len);
    out
}

/// What a path of a tree is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// A file with its length and SHA-256.
    File { len: u64, sha256: [u8; 32] },
    /// A folder; only empty ones carry an entry (and a restored mtime).
    Dir { empty: bool },
}

/// Every path under a root (`/`-separated, relative) with what it is and its mtime.
pub(crate) type Snapshot = BTreeMap<String, (Node, SystemTime)>;

/// Reads a whole tree from disk.
pub(crate) fn snapshot(root: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    snapshot_into(root, "", &mut out);
    out
}

fn snapshot_into(dir: &Path, rel: &str, out: &mut Snapshot) {
    for item in fs::read_dir(dir).unwrap() {
        let item = item.unwrap();
        let name = item.file_name().into_string().expect("UTF-8 name");
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = fs::symlink_metadata(item.path()).unwrap();
        let mtime = meta.modified().unwrap();
        if meta.is_dir() {
            let empty = fs::read_dir(item.path()).unwrap().next().is_none();
            out.insert(child.clone(), (Node::Dir { empty }, mtime));
            snapshot_into(&item.path(), &child, out);
        } else {
            assert!(meta.is_file(), "{child}: only files and folders expected");
            let data = fs::read(item.path()).unwrap();
            let sha256 = Sha256::digest(&data).into();
            out.insert(
                child,
                (
                    Node::File {
                        len: data.len() as u64,
                        sha256,
                    },
                    mtime,
                ),
            );
        }
    }
}

/// A time truncated to even seconds, as a DOS timestamp keeps it (FORMAT.md §5.3).
pub(crate) fn even_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    UNIX_EPOCH + Duration::from_secs(secs - secs % 2)
}

/// Asserts that `dst` holds exactly the tree of `src`; with `mtimes`, that every file and
/// empty folder of `dst` has the source's mtime truncated to even seconds.
pub(crate) fn assert_same_tree(src: &Path, dst: &Path, mtimes: bool) {
    let (want, got) = (snapshot(src), snapshot(dst));
    let want_paths: Vec<&String> = want.keys().collect();
    let got_paths: Vec<&String> = got.keys().collect();
    assert_eq!(
        got_paths, want_paths,
        "extracted paths differ from the source"
    );
    for (path, (node, src_time)) in &want {
        let (got_node, got_time) = &got[path];
        assert_eq!(got_node, node, "{path}");
        let has_entry = matches!(node, Node::File { .. } | Node::Dir { empty: true });
        if mtimes && has_entry {
            assert_eq!(*got_time, even_seconds(*src_time), "mtime of {path}");
        }
    }
}

/// Asserts that `list` reports every source file with its size and SHA-256, and every empty
/// folder as a directory entry, and nothing else.
pub(crate) fn assert_listing_matches(pkg: &Package, src: &Path) {
    let listed = pkg.list(&ReadOptions::default()).expect("list").entries;
    let mut by_name: BTreeMap<String, (bool, u64, [u8; 32])> = BTreeMap::new();
    for e in &listed {
        let name = e.info.name.trim_end_matches('/').to_string();
        assert!(
            by_name
                .insert(name, (e.info.is_dir, e.info.size, e.sha256))
                .is_none(),
            "duplicate {}",
            e.info.name
        );
    }
    let mut expected = BTreeMap::new();
    for (path, (node, _)) in snapshot(src) {
        match node {
            Node::File { len, sha256 } => {
                expected.insert(path, (false, len, sha256));
            }
            Node::Dir { empty: true } => {
                expected.insert(path, (true, 0, Sha256::digest(b"").into()));
            }
            Node::Dir { empty: false } => {}
        }
    }
    assert_eq!(by_name, expected, "list disagrees with the source");
}

/// Sets a path's mtime to `secs` after the Unix epoch.
pub(crate) fn set_mtime(path: &Path, secs: i64) {
    filetime::set_file_mtime(path, FileTime::from_unix_time(secs, 0)).unwrap();
}

/// Packs `src` (setup `setup`) with `opts` into a fresh folder; returns the folder and package.
pub(crate) fn pack(opts: &PackOptions, name: &str) -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let pkg = out.path().join(name);
    opts.pack_to_file(&pkg, intunewin_core::Overwrite::Refuse)
        .unwrap_or_else(|e| panic!("pack: {e}"));
    (out, pkg)
}

/// Packs, verifies, lists and extracts; asserts the extracted tree equals the source.
/// Returns the verified entries.
fn round_trip(opts: PackOptions, src: &Path) -> Vec<EntryInfo> {
    let (out, path) = pack(&opts, "setup.intunewin");
    let pkg = Package::open(&path).unwrap();
    let report = pkg
        .verify(&ReadOptions::default())
        .unwrap_or_else(|e| panic!("verify: {e}"));
    assert_listing_matches(&pkg, src);
    let dest = out.path().join("extracted");
    pkg.extract(&dest, &ExtractOptions::default())
        .unwrap_or_else(|e| panic!("extract: {e}"));
    assert_same_tree(src, &dest, true);
    report.entries
}

/// Seconds since 1970 of a UTC civil time (Howard Hinnant's days-from-civil).
pub(crate) fn unix_seconds(y: i64, m: i64, d: i64, h: i64, min: i64, s: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + min * 60 + s
}

/// Mtimes in 1990–2099, May–August, 10:00–14:59 UTC: inside the DOS range and away from every
/// daylight-saving switch we know of (those happen at night local time, mostly in spring and
/// autumn), so local DOS time converts back to one instant in whatever zone the tests run.
fn mtime_strategy() -> impl Strategy<Value = i64> {
    (
        1990i64..2100,
        5i64..=8,
        1i64..=28,
        10i64..=14,
        0i64..60,
        0i64..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| unix_seconds(y, mo, d, h, mi, s))
}

/// Characters for names: ASCII, Latin, Cyrillic (both cases), CJK, Hebrew, Hangul and
/// non-BMP symbols; all NFC and allowed on Windows.
const NAME_CHARS: [char; 20] = [
    'a', 'b', 'Z', '0', '9', '-', '_', ' ', '(', 'é', 'ß', 'Ж', 'ж', '中', 'ש', '한', 'Ω', '😀',
    '𝄞', '𐐷',
];

/// A Windows-safe name: no leading or trailing space, no reserved device stem.
fn name_strategy() -> impl Strategy<Value = String> {
    let ext = prop::option::of(prop::sample::select(vec![
        "txt", "EXE", "ps1", "dat", "ünï", "😀",
    ]));
    (
        prop::collection::vec(prop::sample::select(NAME_CHARS.to_vec()), 1..8),
        ext,
    )
        .prop_map(|(chars, ext)| {
            let mut stem: String = chars.into_iter().collect();
            if stem.starts_with(' ') {
                stem.replace_range(..1, "_");
            }
            if stem.ends_with(' ') {
                stem.pop();
                stem.push('_');
            }
            let reserved = ["CON", "PRN", "AUX", "NUL"];
            let upper = stem.to_uppercase();
            if reserved.contains(&upper.as_str())
                || (upper.len() == 4 && (upper.starts_with("COM") || upper.starts_with("LPT")))
            {
                stem.insert(0, 'x');
            }
            match ext {
                Some(ext) => format!("{stem}.{ext}"),
                None => stem,
            }
        })
}

/// What to create at a path.
#[derive(Clone, Debug)]
enum Kind {
    File {
        len: usize,
        compressible: bool,
        seed: u64,
    },
    EmptyDir,
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    let len = prop_oneof![
        3 => Just(0usize),
        6 => 1usize..4096,
        2 => 4096usize..262_144,
        1 => 1_000_000usize..4_000_000,
    ];
    prop_oneof![
        5 => (len, any::<bool>(), any::<u64>()).prop_map(|(len, compressible, seed)| Kind::File { len, compressible, seed }),
        1 => Just(Kind::EmptyDir),
    ]
}

/// A random tree: a pool of names (distinct ignoring case), paths of 1–6 components drawn
/// from it, and mtimes to hand out.
#[derive(Clone, Debug)]
struct TreeSpec {
    pool: Vec<String>,
    paths: Vec<(Vec<prop::sample::Index>, Kind)>,
    mtimes: Vec<i64>,
}

fn tree_strategy() -> impl Strategy<Value = TreeSpec> {
    let pool = prop::collection::vec(name_strategy(), 3..10).prop_map(|names| {
        let mut seen = std::collections::HashSet::new();
        // Names equal ignoring case would collide on Windows (and on the path checker).
        names
            .into_iter()
            .filter(|n| seen.insert(n.to_uppercase()) && seen.insert(n.to_lowercase()))
            .collect::<Vec<_>>()
    });
    let paths = prop::collection::vec(
        (
            prop::collection::vec(any::<prop::sample::Index>(), 1..=6),
            kind_strategy(),
        ),
        1..25,
    );
    let mtimes = prop::collection::vec(mtime_strategy(), 1..8);
    (pool, paths, mtimes).prop_map(|(pool, paths, mtimes)| TreeSpec {
        pool,
        paths,
        mtimes,
    })
}

/// Creates the tree of `spec` under `root` (plus `setup.exe`), then sets every file's and
/// empty folder's mtime.
fn build_tree(spec: &TreeSpec, root: &Path) {
    fs::write(root.join("setup.exe"), b"MZ setup").unwrap();
    for (indexes, kind) in &spec.paths {
        let parts: Vec<&str> = indexes
            .iter()
            .map(|i| spec.pool[i.index(spec.pool.len())].as_str())
            .collect();
        let target: PathBuf = parts.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        // Skip paths that need an existing file as a folder, or that exist already.
        let blocked = (1..parts.len()).any(|n| {
            parts[..n]
                .iter()
                .fold(root.to_path_buf(), |p, c| p.join(c))
                .is_file()
        });
        if blocked || target.exists() {
            continue;
        }
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        match kind {
            Kind::File {
                len,
                compressible: true,
                seed,
            } => fs::write(&target, compressible_bytes(*seed, *len)).unwrap(),
            Kind::File {
                len,
                compressible: false,
                seed,
            } => fs::write(&target, random_bytes(*seed, *len)).unwrap(),
            Kind::EmptyDir => fs::create_dir(&target).unwrap(),
        }
    }
    let mut times = spec.mtimes.iter().cycle();
    for (rel, (node, _)) in snapshot(root) {
        if matches!(node, Node::File { .. } | Node::Dir { empty: true }) {
            set_mtime(&root.join(rel), *times.next().unwrap());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_trees_round_trip(spec in tree_strategy()) {
        let src = tempfile::tempdir().unwrap();
        build_tree(&spec, src.path());
        let entries = round_trip(PackOptions::new(src.path(), "setup.exe"), src.path());
        let expected = snapshot(src.path()).values().filter(|(n, _)| !matches!(n, Node::Dir { empty: false })).count();
        prop_assert_eq!(entries.len(), expected);
    }
}

/// A tree with one compressible and one random file above the in-memory limit.
fn large_tree(root: &Path) {
    let big = IN_MEMORY_LIMIT as usize + 1024 * 1024 + 3;
    fs::write(root.join("setup.exe"), b"MZ").unwrap();
    fs::write(root.join("big-text.log"), compressible_bytes(7, big)).unwrap();
    fs::create_dir(root.join("data")).unwrap();
    fs::write(root.join("data/big-random.bin"), random_bytes(8, big + 5)).unwrap();
    for (i, rel) in ["setup.exe", "big-text.log", "data/big-random.bin"]
        .iter()
        .enumerate()
    {
        set_mtime(
            &root.join(rel),
            unix_seconds(2031, 7, 14, 12, 30, 1 + i as i64),
        );
    }
}

fn entry<'a>(entries: &'a [EntryInfo], name: &str) -> &'a EntryInfo {
    entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no entry {name}"))
}

#[test]
fn files_over_the_in_memory_limit_round_trip() {
    let src = tempfile::tempdir().unwrap();
    large_tree(src.path());
    let entries = round_trip(PackOptions::new(src.path(), "setup.exe"), src.path());
    // FORMAT.md §5.3: a data descriptor only where the writer cannot know CRC and compressed
    // size before the local header, i.e. for a large file deflated as a stream.
    let text = entry(&entries, "big-text.log");
    assert_eq!(
        (text.method, text.flags),
        (8, 0x0808),
        "deflated stream, data descriptor"
    );
    let setup = entry(&entries, "setup.exe");
    assert_eq!(setup.flags, 0x0800, "small files carry sizes in the header");
    // Random data does not compress: copied in deflate's stored blocks, read once, so its CRC
    // follows in a data descriptor too; 5 bytes per block of at most 65,535 bytes, plus the
    // empty block that ends each piece.
    let random = entry(&entries, "data/big-random.bin");
    assert_eq!((random.method, random.flags), (8, 0x0808));
    let overhead = random.compressed_size - random.size;
    let pieces = random.size.div_ceil(IN_MEMORY_LIMIT);
    assert!(
        overhead <= random.size / 65_535 * 5 + pieces * 10 + 64,
        "{overhead}"
    );
}

/// Walks a raw deflate stream made only of stored blocks; returns the bytes it holds.
fn stored_blocks_len(mut data: &[u8]) -> Option<u64> {
    let mut total = 0u64;
    loop {
        let (&header, rest) = data.split_first()?;
        if header & 0b110 != 0 {
            return None; // a compressed block
        }
        let field = |at: usize| Some(u16::from_le_bytes([*rest.get(at)?, *rest.get(at + 1)?]));
        let (len, nlen) = (field(0)?, field(2)?);
        if nlen != !len {
            return None;
        }
        let len = usize::from(len);
        data = rest.get(4 + len..)?;
        total += len as u64;
        if header & 1 == 1 {
            return data.is_empty().then_some(total);
        }
    }
}

#[test]
fn large_incompressible_files_are_copied_in_stored_blocks() {
    let src = tempfile::tempdir().unwrap();
    large_tree(src.path());
    let (_out, path) = pack(&PackOptions::new(src.path(), "setup.exe"), "s.intunewin");
    let pkg = Package::open(&path).unwrap();
    let mut inner = Vec::new();
    pkg.decrypt_to(&mut inner, &ReadOptions::default()).unwrap();
    let entries = pkg.verify(&ReadOptions::default()).unwrap().entries;
    let data = |e: &EntryInfo| {
        let at = e.offset as usize;
        let name_len = u16::from_le_bytes([inner[at + 26], inner[at + 27]]) as usize;
        let extra_len = u16::from_le_bytes([inner[at + 28], inner[at + 29]]) as usize;
        let start = at + 30 + name_len + extra_len;
        &inner[start..start + e.compressed_size as usize]
    };
    let random = entry(&entries, "data/big-random.bin");
    assert_eq!(stored_blocks_len(data(random)), Some(random.size));
    let text = entry(&entries, "big-text.log");
    assert_eq!(stored_blocks_len(data(text)), None, "text is compressed");
}

#[test]
fn large_incompressible_file_deflated_when_asked() {
    let src = tempfile::tempdir().unwrap();
    large_tree(src.path());
    let entries = round_trip(
        PackOptions::new(src.path(), "setup.exe").store_incompressible(false),
        src.path(),
    );
    let random = entry(&entries, "data/big-random.bin");
    assert_eq!((random.method, random.flags), (8, 0x0808));
    assert!(
        random.compressed_size > random.size,
        "deflate cannot shrink random data"
    );
}

/// A small tree of compressible, random and empty files and an empty folder.
fn mixed_tree(root: &Path) {
    fs::write(root.join("setup.exe"), compressible_bytes(1, 70_000)).unwrap();
    fs::write(root.join("random.bin"), random_bytes(2, 100_000)).unwrap();
    fs::write(root.join("empty.txt"), b"").unwrap();
    fs::create_dir_all(root.join("Files/Empty")).unwrap();
    fs::write(root.join("Files/readme.txt"), compressible_bytes(3, 5000)).unwrap();
    for (i, rel) in [
        "setup.exe",
        "random.bin",
        "empty.txt",
        "Files/Empty",
        "Files/readme.txt",
    ]
    .iter()
    .enumerate()
    {
        set_mtime(
            &root.join(rel),
            unix_seconds(1999, 6, 30, 11, 59, 58 - i as i64),
        );
    }
}

#[test]
fn level_zero_stores_everything() {
    let src = tempfile::tempdir().unwrap();
    mixed_tree(src.path());
    let entries = round_trip(
        PackOptions::new(src.path(), "setup.exe").level(0),
        src.path(),
    );
    assert_eq!(entries.len(), 5);
    for e in &entries {
        assert_eq!(e.method, 0, "{}", e.name);
        assert_eq!(e.compressed_size, e.size, "{}", e.name);
    }
}

#[test]
fn level_nine_deflates_and_stores_random_data() {
    let src = tempfile::tempdir().unwrap();
    mixed_tree(src.path());
    let level9 = round_trip(
        PackOptions::new(src.path(), "setup.exe").level(9),
        src.path(),
    );
    let level1 = round_trip(PackOptions::new(src.path(), "setup.exe"), src.path());
    let (nine, one) = (entry(&level9, "setup.exe"), entry(&level1, "setup.exe"));
    assert_eq!((nine.method, one.method), (8, 8));
    assert!(
        nine.compressed_size <= one.compressed_size,
        "level 9 is at least as small as level 1"
    );
    assert!(nine.compressed_size * 3 < nine.size, "text compresses");
    assert_eq!(entry(&level9, "random.bin").method, 0);
    assert_eq!(
        entry(&level9, "empty.txt").method,
        0,
        "empty files are stored"
    );
}

#[test]
fn store_incompressible_off_deflates_every_non_empty_file() {
    let src = tempfile::tempdir().unwrap();
    mixed_tree(src.path());
    let entries = round_trip(
        PackOptions::new(src.path(), "setup.exe").store_incompressible(false),
        src.path(),
    );
    for e in &entries {
        // FORMAT.md §5.1: the real tool deflates every non-empty file, stores empty ones.
        let want = if e.size == 0 { 0 } else { 8 };
        assert_eq!(e.method, want, "{}", e.name);
    }
    assert_eq!(entry(&entries, "Files/Empty/").method, 0);
}

#[test]
fn unix_seconds_matches_known_dates() {
    assert_eq!(unix_seconds(1970, 1, 1, 0, 0, 0), 0);
    assert_eq!(unix_seconds(2000, 3, 1, 0, 0, 0), 951_868_800);
    assert_eq!(unix_seconds(2099, 12, 31, 23, 59, 59), 4_102_444_799);
    assert_eq!(
        even_seconds(UNIX_EPOCH + Duration::new(3, 999)),
        UNIX_EPOCH + Duration::from_secs(2)
    );
}
