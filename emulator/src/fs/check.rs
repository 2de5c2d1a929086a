//! `rvmsmp fs check`: every rule of the Consistency section of
//! docs/fs-format.md, checked after installing a committed log in memory.
//! Each problem is one line of text; the image is never written.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use super::reader::FsImage;
use super::{
    fs_err, valid_name, Inode, Result, Superblock, BITS_PER_BLOCK, BSIZE, DIND_FIRST, DIRENT_SIZE, MAGIC,
    MAX_FILE_BLOCKS, MAX_FILE_BYTES, MODE_MASK, NDIRECT, NINDIRECT, NSEC_PER_SEC, ROOT_INUM, SUPERBLOCK,
    SUPERBLOCK_BYTES, T_DIR, T_FILE, T_FREE, VERSION,
};

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// One line per problem; empty when the image is consistent.
    pub problems: Vec<String>,
    /// The superblock, when it could be read and made sense.
    pub sb: Option<Superblock>,
    /// Blocks of a committed log installed (in memory) before checking.
    pub log_blocks: usize,
    /// Regular files and directories named in the tree.
    pub files: u64,
    pub dirs: u64,
    /// Regular files with nlink 0 that no entry names (unlinked while
    /// open): consistent; the kernel frees them at its next mount.
    pub orphans: u64,
    /// Data blocks that inodes use (orphans' included).
    pub used_blocks: u64,
}

impl CheckReport {
    /// One line: what the image holds, or how many problems it has.
    pub fn summary(&self) -> String {
        let Some(sb) = self.sb else {
            return format!("{} problem(s)", self.problems.len());
        };
        let log = match self.log_blocks {
            0 => String::new(),
            n => format!("; a committed log of {n} block(s) was applied in memory"),
        };
        let state = match self.problems.len() {
            0 => "clean".to_string(),
            n => format!("{n} problem(s)"),
        };
        let orphans = match self.orphans {
            0 => String::new(),
            1 => "; 1 orphan inode (freed at the next mount)".to_string(),
            n => format!("; {n} orphan inodes (freed at the next mount)"),
        };
        format!(
            "{state}: {} files, {} directories, {} of {} data blocks in use, {} inodes, {} KiB{orphans}{log}",
            self.files,
            self.dirs,
            self.used_blocks,
            sb.nblocks,
            sb.ninodes,
            u64::from(sb.size) * BSIZE as u64 / 1024
        )
    }
}

/// Where an inode holds a block number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// `addrs[s]`.
    Direct(usize),
    /// The indirect block itself.
    Indirect,
    /// Entry `j` of the indirect block.
    IndirectEntry(usize),
    /// The double-indirect block itself.
    Dindirect,
    /// Entry `j` of the double-indirect block: a second-level block.
    Level2(usize),
    /// Entry `k` of second-level block `j`.
    Level2Entry(usize, usize),
}

impl Slot {
    fn name(self) -> String {
        match self {
            Slot::Direct(s) => format!("direct slot {s}"),
            Slot::Indirect => "its indirect block".into(),
            Slot::IndirectEntry(j) => format!("indirect entry {j}"),
            Slot::Dindirect => "its double-indirect block".into(),
            Slot::Level2(j) => format!("double-indirect entry {j} (second-level block {j})"),
            Slot::Level2Entry(j, k) => format!("second-level block {j} entry {k}"),
        }
    }

    /// The file block it holds, or for an index block the first one it maps.
    fn file_block(self) -> usize {
        match self {
            Slot::Direct(s) => s,
            Slot::Indirect => NDIRECT,
            Slot::IndirectEntry(j) => NDIRECT + j,
            Slot::Dindirect => DIND_FIRST,
            Slot::Level2(j) => DIND_FIRST + NINDIRECT * j,
            Slot::Level2Entry(j, k) => DIND_FIRST + NINDIRECT * j + k,
        }
    }

    /// What its block's entries are.
    fn entry(self, e: usize) -> Option<Slot> {
        match self {
            Slot::Indirect => Some(Slot::IndirectEntry(e)),
            Slot::Dindirect => Some(Slot::Level2(e)),
            Slot::Level2(j) => Some(Slot::Level2Entry(j, e)),
            _ => None,
        }
    }

    fn is_index(self) -> bool {
        self.entry(0).is_some()
    }
}

/// Who uses a block: an inode and where it holds the number.
type Owner = (u32, Slot);

/// Checks the image at `path`. `Err` only when the file cannot be read at
/// all; everything wrong with its contents is a problem in the report.
pub fn check(path: &Path) -> Result<CheckReport> {
    std::fs::File::open(path).map_err(|e| fs_err!("cannot read the image: {e}"))?;
    let mut report = CheckReport::default();
    let mut image = match FsImage::open_raw(path) {
        Ok(image) => image,
        // Another version is not damage: this rvmsmp cannot read it at all.
        Err(e) if other_version(path).map(super::version_error).as_ref() == Some(&e) => return Err(e),
        Err(e) => {
            report.problems.push(e.0);
            return Ok(report);
        }
    };
    let sb = image.sb;
    report.sb = Some(sb);
    Checker {
        image: &mut image,
        report: &mut report,
    }
    .run();
    Ok(report)
}

/// The version in the file's superblock, when it has the magic number
/// and a version other than this one.
fn other_version(path: &Path) -> Option<u32> {
    use std::os::unix::fs::FileExt;
    let mut sb = [0u8; 8];
    let file = std::fs::File::open(path).ok()?;
    file.read_exact_at(&mut sb, u64::from(SUPERBLOCK) * BSIZE as u64).ok()?;
    let word = |i: usize| u32::from_le_bytes(sb[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    (word(0) == MAGIC && word(1) != VERSION).then(|| word(1))
}

struct Checker<'a> {
    image: &'a mut FsImage,
    report: &'a mut CheckReport,
}

impl Checker<'_> {
    fn problem(&mut self, text: String) {
        self.report.problems.push(text);
    }

    fn run(&mut self) {
        let sb = self.image.sb;
        self.superblock(&sb);
        match self.image.log_header() {
            Ok(_) => match self.image.install_log() {
                Ok(n) => self.report.log_blocks = n,
                Err(e) => self.problem(format!("log: {e}")),
            },
            Err(e) => self.problem(format!("{e} (the log was not applied)")),
        }
        let inodes = self.inodes(&sb);
        let owners = self.blocks(&sb, &inodes);
        self.bitmap(&sb, &owners);
        self.tree(&sb, &inodes);
    }

    fn superblock(&mut self, sb: &Superblock) {
        if sb.nblocks != sb.size - sb.datastart {
            self.problem(format!(
                "superblock: nblocks is {} but size - datastart is {}",
                sb.nblocks,
                sb.size - sb.datastart
            ));
        }
        if let Ok(block) = self.image.block(SUPERBLOCK) {
            if block[SUPERBLOCK_BYTES..].iter().any(|&b| b != 0) {
                self.problem("superblock: the bytes after its fields are not all zero".into());
            }
        }
    }

    /// Reads every inode; checks what each says about itself.
    fn inodes(&mut self, sb: &Superblock) -> Vec<Option<Inode>> {
        let mut inodes = Vec::with_capacity(sb.ninodes as usize);
        for inum in 0..sb.ninodes {
            let ino = match self.image.inode(inum) {
                Ok(ino) => ino,
                Err(e) => {
                    self.problem(format!("inode {inum}: {e}"));
                    inodes.push(None);
                    continue;
                }
            };
            let zero = ino == Inode::default();
            match ino.kind {
                T_FREE if !zero => self.problem(format!(
                    "inode {inum} is free (type 0) but not zeroed (nlink {}, mode {:#o}, size {}, nblocks {}, \
                     blocks {:?}, indirect {}, double-indirect {})",
                    ino.nlink, ino.mode, ino.size, ino.nblocks, ino.addrs, ino.indirect, ino.dindirect
                )),
                T_FREE => {}
                _ if inum == 0 => self.problem(format!("inode 0 is in use (type {}); it must never be", ino.kind)),
                T_DIR | T_FILE => {
                    let reserved = [
                        ("reserved0", u32::from(ino.reserved0)),
                        ("reserved1", ino.reserved1),
                        ("reserved2", ino.reserved2),
                    ];
                    for (field, value) in reserved {
                        if value != 0 {
                            self.problem(format!("inode {inum}: {field} is {value:#x}, not 0"));
                        }
                    }
                    if ino.mode & !MODE_MASK != 0 {
                        self.problem(format!(
                            "inode {inum}: mode {:#o} has bits other than the permission bits ({MODE_MASK:#o})",
                            ino.mode
                        ));
                    }
                    let times = [
                        ("atime", ino.atime_sec, ino.atime_nsec),
                        ("mtime", ino.mtime_sec, ino.mtime_nsec),
                        ("ctime", ino.ctime_sec, ino.ctime_nsec),
                    ];
                    for (field, sec, nsec) in times {
                        if nsec >= NSEC_PER_SEC {
                            self.problem(format!(
                                "inode {inum}: {field} is {sec} s and {nsec} ns; the nanoseconds must be below 10^9"
                            ));
                        }
                    }
                    if ino.size > MAX_FILE_BYTES {
                        self.problem(format!(
                            "inode {inum}: size {} is more than the largest file ({MAX_FILE_BYTES} bytes)",
                            ino.size
                        ));
                    }
                }
                t => self.problem(format!("inode {inum}: unknown type {t} (0 free, 1 directory, 2 file)")),
            }
            inodes.push(Some(ino));
        }
        inodes
    }

    /// Every block number in an in-use inode: in the data region, within
    /// its size, used once; and `nblocks` counts them. Returns who uses
    /// each block. An index block is read only the first time it is met,
    /// so no image makes this read a block twice.
    fn blocks(&mut self, sb: &Superblock, inodes: &[Option<Inode>]) -> HashMap<u32, Owner> {
        let mut owners: HashMap<u32, Owner> = HashMap::new();
        let data = format!("{}..{}", sb.datastart, sb.size);
        for (inum, ino) in inodes.iter().enumerate() {
            let inum = inum as u32;
            let Some(ino) = ino.filter(|i| inum != 0 && (i.kind == T_DIR || i.kind == T_FILE)) else {
                continue;
            };
            let covered = ino.size_blocks().min(MAX_FILE_BLOCKS as u64) as usize;
            let mut refs: Vec<(Slot, u32)> = ino
                .addrs
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b != 0)
                .map(|(s, &b)| (Slot::Direct(s), b))
                .collect();
            for (slot, b) in [(Slot::Indirect, ino.indirect), (Slot::Dindirect, ino.dindirect)] {
                if b != 0 {
                    refs.push((slot, b));
                }
            }
            // Distinct blocks it names; `complete` while every index block was read.
            let mut named = 0u64;
            let mut complete = true;
            let mut k = 0;
            while k < refs.len() {
                let (slot, b) = refs[k];
                k += 1;
                named += 1;
                if slot.file_block() >= covered {
                    let text = if slot.is_index() {
                        format!(
                            "inode {inum}: {} is block {b}, but its size ({} bytes, {covered} block(s)) needs none",
                            slot.name(),
                            ino.size
                        )
                    } else {
                        format!(
                            "inode {inum}: {} holds block {b}, past its size ({} bytes, {covered} block(s))",
                            slot.name(),
                            ino.size
                        )
                    };
                    self.problem(text);
                }
                if !self.image.in_data_region(b) {
                    self.problem(format!(
                        "inode {inum}: {} holds block {b}, outside the data region ({data})",
                        slot.name()
                    ));
                    complete &= !slot.is_index();
                    continue;
                }
                if let Some(&(other, other_slot)) = owners.get(&b) {
                    self.problem(format!(
                        "block {b} is used twice: by inode {other} ({}) and inode {inum} ({})",
                        other_slot.name(),
                        slot.name()
                    ));
                    if other == inum {
                        named -= 1;
                    }
                    complete &= !slot.is_index();
                    continue;
                }
                owners.insert(b, (inum, slot));
                if slot.is_index() {
                    match self.image.index_entries(inum, "index block", b) {
                        Ok(entries) => refs.extend(
                            entries
                                .into_iter()
                                .enumerate()
                                .filter(|&(_, x)| x != 0)
                                .filter_map(|(e, x)| Some((slot.entry(e)?, x))),
                        ),
                        Err(e) => {
                            self.problem(e.0);
                            complete = false;
                        }
                    }
                }
            }
            if complete && named != u64::from(ino.nblocks) {
                self.problem(format!(
                    "inode {inum}: nblocks is {} but it uses {named} block(s) (data and index blocks)",
                    ino.nblocks
                ));
            }
        }
        self.report.used_blocks = owners.len() as u64;
        owners
    }

    /// The bitmap marks exactly blocks 0..datastart and the blocks inodes
    /// use. Each bitmap block is compared whole with the one expected;
    /// only a block that differs is looked at bit by bit.
    fn bitmap(&mut self, sb: &Superblock, owners: &HashMap<u32, Owner>) {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Wrong {
            MetadataFree,
            UsedFree,
            UnusedMarked,
            PastEnd,
        }
        let mut used: Vec<u32> = owners.keys().copied().collect();
        used.sort_unstable();
        let mut next_used = used.iter().copied().peekable();
        let mut runs: Vec<(Wrong, u64, u64)> = Vec::new();
        let mut expected = vec![0u8; BSIZE];
        for i in 0..super::bitmap_blocks(sb.size) {
            let first = u64::from(i) * BITS_PER_BLOCK as u64;
            let end = first + BITS_PER_BLOCK as u64;
            expected.fill(0);
            let meta_end = u64::from(sb.datastart).min(end);
            if meta_end > first {
                let whole = ((meta_end - first) / 8) as usize;
                expected[..whole].fill(0xff);
                if (meta_end - first) % 8 != 0 {
                    expected[whole] = (1u8 << ((meta_end - first) % 8)) - 1;
                }
            }
            while let Some(b) = next_used.next_if(|&b| u64::from(b) < end) {
                let bit = u64::from(b) - first;
                expected[(bit / 8) as usize] |= 1 << (bit % 8);
            }
            let block = match self.image.block(sb.bmapstart + i) {
                Ok(block) => block,
                Err(e) => {
                    self.problem(format!("bitmap block {i}: {e}"));
                    continue;
                }
            };
            if block == expected {
                continue;
            }
            for (byte_index, (&have, &want)) in block.iter().zip(&expected).enumerate() {
                if have == want {
                    continue;
                }
                for bit in (0..8).filter(|bit| (have ^ want) & (1 << bit) != 0) {
                    let b = first + 8 * byte_index as u64 + bit;
                    let is_set = have & (1 << bit) != 0;
                    let w = if b >= u64::from(sb.size) {
                        Wrong::PastEnd
                    } else if b < u64::from(sb.datastart) {
                        Wrong::MetadataFree
                    } else if is_set {
                        Wrong::UnusedMarked
                    } else {
                        Wrong::UsedFree
                    };
                    match runs.last_mut() {
                        Some((kind, _, end)) if *kind == w && *end + 1 == b => *end = b,
                        _ => runs.push((w, b, b)),
                    }
                }
            }
        }
        for (kind, start, end) in runs {
            let blocks = if start == end {
                format!("block {start}")
            } else {
                format!("blocks {start}..={end}")
            };
            let text = match kind {
                Wrong::MetadataFree => format!("bitmap: {blocks} (log, inodes or bitmap) marked free"),
                Wrong::UsedFree => {
                    let (inum, _) = owners[&(start as u32)];
                    format!("bitmap: {blocks} in use (the first by inode {inum}) but marked free")
                }
                Wrong::UnusedMarked => format!("bitmap: {blocks} marked in use but no inode uses them"),
                Wrong::PastEnd => format!("bitmap: {blocks} past the end of the image marked in use"),
            };
            self.problem(text);
        }
    }

    /// Walks the tree from the root: entries name in-use inodes, `.` and
    /// `..` are right, every in-use inode is reachable, links are counted.
    fn tree(&mut self, sb: &Superblock, inodes: &[Option<Inode>]) {
        let kind = |inum: u32| inodes.get(inum as usize).copied().flatten().map(|i| i.kind);
        match kind(ROOT_INUM) {
            Some(T_DIR) => {}
            other => {
                self.problem(format!(
                    "the root (inode 1) is not a directory (type {})",
                    other.map_or("unreadable".into(), |k| k.to_string())
                ));
                return;
            }
        }
        let mut links: HashMap<u32, u32> = HashMap::new(); // names of each inode, . and .. aside
        let mut subdirs: HashMap<u32, u32> = HashMap::new(); // subdirectories of each directory
        let mut paths: HashMap<u32, String> = HashMap::new();
        let mut reached: HashSet<u32> = HashSet::from([ROOT_INUM]);
        let mut queue = VecDeque::from([(ROOT_INUM, ROOT_INUM, String::from("/"))]);
        paths.insert(ROOT_INUM, "/".into());
        while let Some((dir, parent, path)) = queue.pop_front() {
            let ino = inodes[dir as usize].expect("reached inodes were read");
            let entries = match self.image.dir_entries(dir, &ino) {
                Ok(entries) => entries,
                Err(e) => {
                    self.problem(format!("directory {path} (inode {dir}): cannot read its entries: {e}"));
                    continue;
                }
            };
            if ino.size % DIRENT_SIZE as u64 != 0 {
                self.problem(format!(
                    "directory {path} (inode {dir}): size {} is not a multiple of {DIRENT_SIZE}",
                    ino.size
                ));
            }
            match entries.first() {
                Some((0, e)) if e.name == b"." && e.inum == dir => {}
                _ => self.problem(format!(
                    "directory {path} (inode {dir}): the first entry is not '.' naming the directory itself"
                )),
            }
            match entries.iter().take(2).find(|(k, _)| *k == 1) {
                Some((_, e)) if e.name == b".." && e.inum == parent => {}
                Some((_, e)) if e.name == b".." => self.problem(format!(
                    "directory {path} (inode {dir}): '..' names inode {}, not its parent {parent}",
                    e.inum
                )),
                _ => self.problem(format!("directory {path} (inode {dir}): the second entry is not '..'")),
            }
            let mut names: HashSet<Vec<u8>> = HashSet::new();
            for (k, e) in entries.iter().filter(|(k, _)| *k >= 2) {
                let shown = e.name_lossy();
                let child_path = if path == "/" {
                    format!("/{shown}")
                } else {
                    format!("{path}/{shown}")
                };
                let padded = e.raw[e.name.len()..].iter().all(|&c| c == 0);
                if !valid_name(&e.name) || !padded || e.name == b"." || e.name == b".." {
                    self.problem(format!(
                        "directory {path} (inode {dir}): entry {k} has an invalid name {:?}",
                        String::from_utf8_lossy(&e.raw)
                    ));
                }
                if !names.insert(e.name.clone()) {
                    self.problem(format!(
                        "directory {path} (inode {dir}): the name {shown:?} appears twice"
                    ));
                }
                if e.inum >= sb.ninodes {
                    self.problem(format!(
                        "{child_path}: names inode {}, past the inode table ({} inodes)",
                        e.inum, sb.ninodes
                    ));
                    continue;
                }
                match kind(e.inum) {
                    Some(T_FILE) => {
                        *links.entry(e.inum).or_default() += 1;
                        paths.entry(e.inum).or_insert(child_path);
                        reached.insert(e.inum);
                    }
                    Some(T_DIR) if e.inum == ROOT_INUM || reached.contains(&e.inum) => {
                        self.problem(format!(
                            "{child_path}: names directory inode {}, which already has a name (a directory has one)",
                            e.inum
                        ));
                    }
                    Some(T_DIR) => {
                        *subdirs.entry(dir).or_default() += 1;
                        reached.insert(e.inum);
                        paths.insert(e.inum, child_path.clone());
                        queue.push_back((e.inum, dir, child_path));
                    }
                    Some(T_FREE) => self.problem(format!("{child_path}: names inode {}, which is free", e.inum)),
                    Some(t) => self.problem(format!("{child_path}: names inode {}, of unknown type {t}", e.inum)),
                    None => self.problem(format!("{child_path}: names inode {}, which cannot be read", e.inum)),
                }
            }
        }
        for (inum, ino) in inodes.iter().enumerate() {
            let inum = inum as u32;
            let Some(ino) = ino else { continue };
            let orphan = inum != 0 && ino.kind == T_FILE && ino.nlink == 0 && !reached.contains(&inum);
            match ino.kind {
                T_FILE if orphan => self.report.orphans += 1,
                T_FILE => self.report.files += 1,
                T_DIR => self.report.dirs += 1,
                _ => continue,
            }
            if inum == 0 || orphan {
                continue;
            }
            if !reached.contains(&inum) {
                self.problem(format!(
                    "inode {inum} ({}, {} bytes) is in use but no directory reachable from the root names it",
                    ino.type_name(),
                    ino.size
                ));
                continue;
            }
            let path = &paths[&inum];
            let want = 2 + subdirs.get(&inum).copied().unwrap_or(0);
            if ino.kind == T_DIR && u32::from(ino.nlink) != want {
                self.problem(format!(
                    "directory {path} (inode {inum}): nlink is {}, not 2 + its {} subdirectories",
                    ino.nlink,
                    want - 2
                ));
            }
            if ino.kind == T_FILE {
                let names = links.get(&inum).copied().unwrap_or(0);
                if u32::from(ino.nlink) != names {
                    self.problem(format!(
                        "{path} (inode {inum}): nlink is {} but {names} entr{} name it",
                        ino.nlink,
                        if names == 1 { "y" } else { "ies" }
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::mkfs::{mkfs, MkfsOptions};
    use super::super::reader::FsImage;
    use super::super::{INODES_PER_BLOCK, INODE_SIZE};
    use super::*;
    use std::os::unix::fs::FileExt;
    use std::path::PathBuf;

    /// A fresh scratch directory for one test.
    pub(crate) fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rvmsmp-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A small image of a small tree: (scratch dir, image path).
    fn sample(name: &str, size_mib: u64) -> (PathBuf, PathBuf) {
        let dir = scratch(name);
        let tree = dir.join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), vec![7u8; 60_000]).unwrap();
        std::fs::write(tree.join("g"), b"gee").unwrap();
        let img = dir.join("fs.img");
        mkfs(
            &img,
            &tree,
            &MkfsOptions {
                size_mib,
                ..MkfsOptions::default()
            },
        )
        .unwrap();
        (dir, img)
    }

    fn poke(img: &Path, offset: u64, bytes: &[u8]) {
        let f = std::fs::OpenOptions::new().write(true).open(img).unwrap();
        f.write_all_at(bytes, offset).unwrap();
    }

    /// A place to write and the bytes to write there.
    fn poke_case(offset: u64, bytes: &[u8]) -> (u64, Vec<u8>) {
        (offset, bytes.to_vec())
    }

    fn problems(img: &Path) -> Vec<String> {
        check(img).unwrap().problems
    }

    #[test]
    fn a_fresh_image_is_clean() {
        let (dir, img) = sample("clean", 2);
        let r = check(&img).unwrap();
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!((r.files, r.dirs), (2, 3));
        assert!(
            r.summary().starts_with("clean: 2 files, 3 directories"),
            "{}",
            r.summary()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Byte offset of inode `inum` in the image.
    fn inode_offset(sb: &Superblock, inum: u32) -> u64 {
        u64::from(sb.inodestart) * BSIZE as u64 + (INODE_SIZE as u64) * u64::from(inum)
    }

    #[test]
    fn each_rule_is_enforced() {
        let (dir, img) = sample("rules", 2);
        let pristine = std::fs::read(&img).unwrap();
        let fs = FsImage::open(&img).unwrap();
        let sb = fs.sb;
        let inode_off = |inum: u32| inode_offset(&sb, inum);
        let (g, g_ino) = fs.lookup("/g").unwrap();
        let (f, f_ino) = fs.lookup("/a/b/f").unwrap();
        let (a, a_ino) = fs.lookup("/a").unwrap();
        let bmap = u64::from(sb.bmapstart) * BSIZE as u64;
        let addr = |slot: u64| 72 + 4 * slot;
        let cases: Vec<((u64, Vec<u8>), &str)> = vec![
            (poke_case(BSIZE as u64 + 12, &0u32.to_le_bytes()), "nblocks"),
            (poke_case(BSIZE as u64, b"XXXX"), "not an rvmsmp file system"),
            (
                poke_case(inode_off(g) + 2, &2u16.to_le_bytes()),
                "nlink is 2 but 1 entry",
            ),
            (
                poke_case(inode_off(g) + 2, &0u16.to_le_bytes()),
                "nlink is 0 but 1 entry",
            ),
            (
                poke_case(inode_off(a) + 2, &2u16.to_le_bytes()),
                "not 2 + its 1 subdirectories",
            ),
            (
                poke_case(inode_off(a) + 2, &0u16.to_le_bytes()),
                "not 2 + its 1 subdirectories",
            ),
            // f's second block also given to g.
            (
                poke_case(inode_off(g) + addr(1), &f_ino.addrs[1].to_le_bytes()),
                "past its size",
            ),
            (
                poke_case(inode_off(g) + addr(1), &f_ino.addrs[1].to_le_bytes()),
                "is used twice",
            ),
            (
                poke_case(inode_off(f) + addr(0), &f_ino.addrs[1].to_le_bytes()),
                "is used twice",
            ),
            (
                poke_case(inode_off(g) + addr(0), &1u32.to_le_bytes()),
                "outside the data region",
            ),
            (poke_case(bmap, &[0]), "marked free"),
            (
                poke_case(bmap + u64::from(sb.size - 1) / 8, &[0x80]),
                "marked in use but no inode uses them",
            ),
            (
                poke_case(u64::from(sb.bmapstart + 1) * BSIZE as u64 - 1, &[0x80]),
                "past the end of the image marked in use",
            ),
            (
                poke_case(inode_off(40), &[2, 0, 1, 0]),
                "no directory reachable from the root",
            ),
            (
                poke_case(inode_off(41), &[1, 0, 0, 0]),
                "inode 41 (dir, 0 bytes) is in use but no directory",
            ),
            (poke_case(inode_off(9) + 8, &[1]), "free (type 0) but not zeroed"),
            (poke_case(inode_off(9) + 127, &[1]), "free (type 0) but not zeroed"),
            (poke_case(inode_off(g), &[9]), "unknown type 9"),
            (poke_case(inode_off(1), &[2]), "the root (inode 1) is not a directory"),
            (
                poke_case(u64::from(a_ino.addrs[0]) * BSIZE as u64 + 4, b"x"),
                "the first entry is not '.'",
            ),
            (
                poke_case(u64::from(a_ino.addrs[0]) * BSIZE as u64 + 64, &9u32.to_le_bytes()),
                "not its parent",
            ),
            (
                poke_case(u64::from(a_ino.addrs[0]) * BSIZE as u64 + 128 + 4, b"a/"),
                "invalid name",
            ),
            (
                poke_case(u64::from(a_ino.addrs[0]) * BSIZE as u64 + 128, &g.to_le_bytes()),
                "nlink is 1 but 2 entries",
            ),
            (poke_case(inode_off(g) + 16, &65u64.to_le_bytes()), ""),
            (
                poke_case(inode_off(g) + 16, &(MAX_FILE_BYTES + 1).to_le_bytes()),
                "more than the largest file",
            ),
            (
                poke_case(inode_off(a) + 16, &65u64.to_le_bytes()),
                "not a multiple of 64",
            ),
            (poke_case(u64::from(g_ino.addrs[0]) * BSIZE as u64 + 5000, b""), ""),
            (
                poke_case(inode_off(g) + 120, &f_ino.addrs[0].to_le_bytes()),
                "inode 5: its indirect block is block",
            ),
            (
                poke_case(inode_off(g) + 124, &f_ino.addrs[0].to_le_bytes()),
                "its double-indirect block is block",
            ),
            // The v2 fields.
            (
                poke_case(inode_off(g) + 24, &5u32.to_le_bytes()),
                "inode 5: nblocks is 5 but it uses 1 block(s)",
            ),
            (
                poke_case(inode_off(f) + 24, &0u32.to_le_bytes()),
                "inode 4: nblocks is 0 but it uses 16 block(s)",
            ),
            (
                poke_case(inode_off(g) + 4, &0o10644u16.to_le_bytes()),
                "inode 5: mode 0o10644 has bits other than the permission bits",
            ),
            (poke_case(inode_off(g) + 6, &[1]), "inode 5: reserved0 is 0x1, not 0"),
            (poke_case(inode_off(a) + 28, &[1]), "inode 2: reserved1 is 0x1, not 0"),
            (
                poke_case(inode_off(a) + 68, &[0, 1]),
                "inode 2: reserved2 is 0x100, not 0",
            ),
            (
                poke_case(inode_off(g) + 60, &NSEC_PER_SEC.to_le_bytes()),
                "inode 5: mtime is 0 s and 1000000000 ns",
            ),
            (poke_case(inode_off(g) + 56, &u32::MAX.to_le_bytes()), "inode 5: atime"),
            (poke_case(inode_off(g) + 64, &u32::MAX.to_le_bytes()), "inode 5: ctime"),
        ];
        assert_eq!((a, f, g), (2, 4, 5));
        assert_eq!(f_ino.nblocks, 16); // 60000 bytes: 15 data blocks and the indirect block
        for (i, ((offset, bytes), expect)) in cases.iter().enumerate() {
            std::fs::write(&img, &pristine).unwrap();
            poke(&img, *offset, bytes);
            let found = problems(&img);
            if expect.is_empty() {
                continue; // must merely not panic
            }
            assert!(
                found.iter().any(|p| p.contains(expect)),
                "case {i}: expected a problem containing {expect:?}, got {found:#?}"
            );
        }
        // Times and ids that are in range are fine.
        std::fs::write(&img, &pristine).unwrap();
        poke(&img, inode_off(g) + 8, &[0xff; 8]); // uid, gid
        poke(&img, inode_off(g) + 32, &(-1i64).to_le_bytes());
        poke(&img, inode_off(g) + 56, &999_999_999u32.to_le_bytes());
        poke(&img, inode_off(g) + 4, &0o7777u16.to_le_bytes());
        assert_eq!(problems(&img), Vec::<String>::new());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_orphan_is_consistent_and_counted() {
        let (dir, img) = sample("orphan", 2);
        let fs = FsImage::open(&img).unwrap();
        let sb = fs.sb;
        let (root, root_ino) = fs.lookup("/").unwrap();
        let (g, _) = fs.lookup("/g").unwrap();
        let slot = fs
            .dir_entries(root, &root_ino)
            .unwrap()
            .into_iter()
            .find(|(_, e)| e.name == b"g")
            .unwrap()
            .0;
        drop(fs);
        // Unlinked while open: the entry freed (inum 0), nlink 0, the blocks kept.
        poke(
            &img,
            u64::from(root_ino.addrs[0]) * BSIZE as u64 + slot * DIRENT_SIZE as u64,
            &0u32.to_le_bytes(),
        );
        poke(&img, inode_offset(&sb, g) + 2, &0u16.to_le_bytes());
        let r = check(&img).unwrap();
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!((r.files, r.dirs, r.orphans), (1, 3, 1));
        assert!(
            r.summary().contains("; 1 orphan inode (freed at the next mount)"),
            "{}",
            r.summary()
        );
        // An unnamed file with links, or an unnamed directory, is still wrong.
        poke(&img, inode_offset(&sb, g) + 2, &1u16.to_le_bytes());
        assert!(problems(&img)
            .iter()
            .any(|p| p.contains("inode 5 (file, 3 bytes) is in use but no directory")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_version_cannot_be_checked() {
        let (dir, img) = sample("version", 1);
        poke(&img, BSIZE as u64 + 4, &1u32.to_le_bytes());
        let e = check(&img).unwrap_err().0;
        assert!(
            e.starts_with("file system version 1; this rvmsmp reads version 2: remake the image with `rvmsmp mkfs"),
            "{e}"
        );
        assert_eq!(FsImage::open(&img).err().unwrap().0, e);
        assert_eq!(crate::fs::check_formatted(&img).unwrap_err().0, e);
        // Damage that is not a version is reported as a problem.
        poke(&img, BSIZE as u64, b"XXXX");
        assert!(check(&img).unwrap().problems[0].contains("not an rvmsmp file system"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Test data that is not all zeros in any block: a byte pattern.
    fn pattern(len: usize, seed: u32) -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
            .collect()
    }

    /// An 8 MiB image holding /f with `data`: the scratch directory and the image.
    fn one_file_image(name: &str, data: &[u8]) -> (PathBuf, PathBuf) {
        let dir = scratch(name);
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(tree.join("f"), data).unwrap();
        let img = dir.join("fs.img");
        let options = MkfsOptions {
            size_mib: 8,
            ..MkfsOptions::default()
        };
        mkfs(&img, &tree, &options).unwrap();
        (dir, img)
    }

    #[test]
    fn large_files_use_the_indirect_and_double_indirect_blocks() {
        let dir = scratch("large");
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        // Over 12 MiB: every kind of slot, three second-level blocks.
        let big = pattern((DIND_FIRST + 2 * NINDIRECT) * BSIZE + 1, 1);
        std::fs::write(tree.join("big"), &big).unwrap();
        // Sparse on the host: 6 MiB with data only past 5 MiB (in the
        // double-indirect range: file block 1280 on).
        let sparse = tree.join("sparse");
        {
            let f = std::fs::File::create(&sparse).unwrap();
            f.set_len(6 << 20).unwrap();
            f.write_all_at(&pattern(10_000, 2), 5 << 20).unwrap();
        }
        // Exactly the direct blocks, and one more.
        std::fs::write(tree.join("twelve"), pattern(NDIRECT * BSIZE, 3)).unwrap();
        std::fs::write(tree.join("thirteen"), pattern(NDIRECT * BSIZE + 1, 4)).unwrap();
        // Exactly the direct and indirect blocks, and one more.
        std::fs::write(tree.join("x1036"), pattern(DIND_FIRST * BSIZE, 5)).unwrap();
        std::fs::write(tree.join("x1037"), pattern(DIND_FIRST * BSIZE + 1, 6)).unwrap();
        let img = dir.join("fs.img");
        let summary = mkfs(
            &img,
            &tree,
            &MkfsOptions {
                size_mib: 64,
                ..MkfsOptions::default()
            },
        )
        .unwrap();
        let r = check(&img).unwrap();
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!(r.used_blocks, summary.data_blocks);

        let fs = FsImage::open(&img).unwrap();
        let expect: [(&str, u32, bool, bool); 6] = [
            // name, blocks used (data and index), indirect, double-indirect
            ("big", 3085 + 1 + 1 + 3, true, true),
            ("sparse", 1536 + 1 + 1 + 1, true, true),
            ("twelve", 12, false, false),
            ("thirteen", 13 + 1, true, false),
            ("x1036", 1036 + 1, true, false),
            ("x1037", 1037 + 1 + 1 + 1, true, true),
        ];
        for (name, nblocks, indirect, dindirect) in expect {
            let (inum, ino) = fs.lookup(name).unwrap();
            assert_eq!(
                (ino.nblocks, ino.indirect != 0, ino.dindirect != 0),
                (nblocks, indirect, dindirect),
                "{name}"
            );
            let host = std::fs::read(tree.join(name)).unwrap();
            assert!(
                fs.read_all(inum, &ino).unwrap() == host,
                "{name} reads back different bytes"
            );
        }
        // The layout: each index block just before the first block it maps.
        let (inum, ino) = fs.lookup("big").unwrap();
        let blocks = fs.content_blocks(inum, &ino).unwrap();
        assert_eq!(blocks.len(), 3085);
        assert_eq!(ino.indirect, blocks[11] + 1);
        assert_eq!(blocks[12], ino.indirect + 1);
        assert_eq!(ino.dindirect, blocks[DIND_FIRST - 1] + 1);
        let second = fs.index_entries(inum, "test", ino.dindirect).unwrap();
        assert_eq!(second[0], ino.dindirect + 1);
        assert_eq!(blocks[DIND_FIRST], second[0] + 1);
        assert_eq!(second[1], blocks[DIND_FIRST + NINDIRECT - 1] + 1);
        assert_eq!(second[2], blocks[DIND_FIRST + 2 * NINDIRECT - 1] + 1);
        assert_eq!(second[3], 0);
        // The host image stays sparse: the sparse file's zeros and the
        // free space are not written.
        use std::os::unix::fs::MetadataExt;
        let on_disk = std::fs::metadata(&img).unwrap().blocks() * 512;
        let dense = summary.file_bytes - (6 << 20) + 10_000;
        assert!(
            on_disk < dense + (1 << 20),
            "{on_disk} bytes allocated for a 64 MiB image holding {dense} bytes of data"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn holes_and_empty_index_blocks_are_consistent() {
        let data = pattern(DIND_FIRST * BSIZE + 3 * BSIZE, 7);
        let (dir, img) = one_file_image("holes", &data);
        let fs = FsImage::open(&img).unwrap();
        let sb = fs.sb;
        let (inum, ino) = fs.lookup("/f").unwrap();
        let blocks = fs.content_blocks(inum, &ino).unwrap();
        let second = fs.index_entries(inum, "test", ino.dindirect).unwrap()[0];
        drop(fs);
        let at = |b: u32| u64::from(b) * BSIZE as u64;
        let clear_bit = |b: u32| {
            let off = at(sb.bmapstart) + u64::from(b / 8);
            let mut byte = [0u8];
            std::fs::File::open(&img)
                .unwrap()
                .read_exact_at(&mut byte, off)
                .unwrap();
            poke(&img, off, &[byte[0] & !(1 << (b % 8))]);
        };
        let mut expect = data.clone();
        // A hole in a direct slot: block 3.
        poke(&img, inode_offset(&sb, inum) + 72 + 12, &0u32.to_le_bytes());
        clear_bit(blocks[3]);
        expect[3 * BSIZE..4 * BSIZE].fill(0);
        // The indirect block's entries all zero: an index block of zeros.
        poke(&img, at(ino.indirect), &[0u8; BSIZE]);
        for &b in &blocks[NDIRECT..DIND_FIRST] {
            clear_bit(b);
        }
        expect[NDIRECT * BSIZE..DIND_FIRST * BSIZE].fill(0);
        // A hole in a second-level block: the file's last block.
        poke(&img, at(second) + 8, &0u32.to_le_bytes());
        clear_bit(blocks[DIND_FIRST + 2]);
        expect[(DIND_FIRST + 2) * BSIZE..].fill(0);
        let nblocks = ino.nblocks - 1 - NINDIRECT as u32 - 1;
        poke(&img, inode_offset(&sb, inum) + 24, &nblocks.to_le_bytes());
        let r = check(&img).unwrap();
        assert_eq!(r.problems, Vec::<String>::new());
        let fs = FsImage::open(&img).unwrap();
        let (inum, ino) = fs.lookup("/f").unwrap();
        assert!(fs.read_all(inum, &ino).unwrap() == expect);

        // The double-indirect block gone too: all of its range is a hole,
        // and the second-level block is then free.
        poke(&img, inode_offset(&sb, inum) + 124, &0u32.to_le_bytes());
        clear_bit(ino.dindirect);
        clear_bit(second);
        clear_bit(blocks[DIND_FIRST]);
        clear_bit(blocks[DIND_FIRST + 1]);
        poke(&img, inode_offset(&sb, inum) + 24, &(nblocks - 4).to_le_bytes());
        assert_eq!(problems(&img), Vec::<String>::new());
        expect[DIND_FIRST * BSIZE..].fill(0);
        let fs = FsImage::open(&img).unwrap();
        let (inum, ino) = fs.lookup("/f").unwrap();
        assert!(fs.read_all(inum, &ino).unwrap() == expect);

        // Entries past the size are not: shrink the size to 13 blocks.
        poke(
            &img,
            inode_offset(&sb, inum) + 16,
            &((NDIRECT as u64 + 1) * BSIZE as u64).to_le_bytes(),
        );
        assert_eq!(
            problems(&img),
            Vec::<String>::new(),
            "the indirect block holds only zeros"
        );
        poke(
            &img,
            inode_offset(&sb, inum) + 16,
            &(NDIRECT as u64 * BSIZE as u64).to_le_bytes(),
        );
        let found = problems(&img);
        assert!(
            found
                .iter()
                .any(|p| p.contains("its indirect block is block") && p.contains("needs none")),
            "{found:#?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_second_level_block_past_the_size_is_refused() {
        let (dir, img) = one_file_image("level2", &pattern(DIND_FIRST * BSIZE + 1, 8));
        let fs = FsImage::open(&img).unwrap();
        let (inum, ino) = fs.lookup("/f").unwrap();
        let (_, root) = fs.lookup("/").unwrap();
        // Entry 1 of the double-indirect block names a block (the root's):
        // the size covers no block it would map.
        poke(
            &img,
            u64::from(ino.dindirect) * BSIZE as u64 + 4,
            &root.addrs[0].to_le_bytes(),
        );
        let found = problems(&img);
        let expect = format!(
            "inode {inum}: double-indirect entry 1 (second-level block 1) is block {}, but its size",
            root.addrs[0]
        );
        assert!(found.iter().any(|p| p.starts_with(&expect)), "{found:#?}");
        assert!(found.iter().any(|p| p.contains("is used twice")), "{found:#?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_committed_log_is_applied_in_memory_only() {
        let (dir, img) = sample("log", 2);
        let fs = FsImage::open(&img).unwrap();
        let sb = fs.sb;
        let (g, g_ino) = fs.lookup("/g").unwrap();
        // Log a new version of g's data block and of its inode (size 5).
        let mut data = fs.block(g_ino.addrs[0]).unwrap();
        data[..5].copy_from_slice(b"hello");
        let inode_block = sb.inodestart + g / INODES_PER_BLOCK as u32;
        let mut inodes = fs.block(inode_block).unwrap();
        let off = INODE_SIZE * (g as usize % INODES_PER_BLOCK) + 16;
        inodes[off..off + 8].copy_from_slice(&5u64.to_le_bytes());
        let at = |b: u32| u64::from(b) * BSIZE as u64;
        poke(&img, at(sb.logstart + 1), &data);
        poke(&img, at(sb.logstart + 2), &inodes);
        let mut header = vec![0u8; 12];
        header[0..4].copy_from_slice(&2u32.to_le_bytes());
        header[4..8].copy_from_slice(&g_ino.addrs[0].to_le_bytes());
        header[8..12].copy_from_slice(&inode_block.to_le_bytes());
        poke(&img, at(sb.logstart), &header);
        let before = std::fs::read(&img).unwrap();

        let r = check(&img).unwrap();
        assert!(r.problems.is_empty(), "{:#?}", r.problems);
        assert_eq!(r.log_blocks, 2);
        let fs = FsImage::open(&img).unwrap();
        let (g, ino) = fs.lookup("/g").unwrap();
        assert_eq!(fs.read_all(g, &ino).unwrap(), b"hello");
        assert_eq!(std::fs::read(&img).unwrap(), before, "reading must not write");

        // A header naming the superblock is refused.
        poke(&img, at(sb.logstart) + 4, &1u32.to_le_bytes());
        assert!(problems(&img).iter().any(|p| p.contains("log header")));
        assert!(FsImage::open(&img).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A small deterministic generator for the fuzz tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Everything a reader does on an image: check, and list and read every
    /// path. None of it may panic.
    fn exercise(img: &Path) {
        let _ = check(img);
        if let Ok(fs) = FsImage::open(img) {
            for path in ["/", "/a", "/a/b", "/a/b/f", "/g", "/a/../g", "/a/b/f/x"] {
                if let Ok((inum, ino)) = fs.lookup(path) {
                    let _ = fs.read_to(inum, &ino, &mut std::io::sink());
                    let _ = fs.dir_entries(inum, &ino);
                }
            }
        }
    }

    #[test]
    fn corrupt_images_give_errors_not_panics() {
        let (dir, img) = sample("fuzz", 1);
        let pristine = std::fs::read(&img).unwrap();
        let fs = FsImage::open(&img).unwrap();
        let sb = fs.sb;
        drop(fs);
        // The interesting blocks: superblock, log header, inodes, bitmap,
        // and the first data blocks (directories).
        let hot: Vec<u64> = [
            1,
            sb.logstart,
            sb.inodestart,
            sb.bmapstart,
            sb.datastart,
            sb.datastart + 1,
        ]
        .iter()
        .map(|&b| u64::from(b) * BSIZE as u64)
        .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            let mut bytes = pristine.clone();
            for _ in 0..1 + rng.next() % 8 {
                let base = hot[(rng.next() % hot.len() as u64) as usize];
                let off = (base + rng.next() % 512) as usize;
                bytes[off] = rng.next() as u8;
                if rng.next() % 4 == 0 {
                    let wide = rng.next().to_le_bytes();
                    bytes[off..off + 4].copy_from_slice(&wide[..4]);
                }
            }
            if round % 50 == 0 {
                let keep = (rng.next() % bytes.len() as u64) as usize;
                bytes.truncate(keep);
            }
            std::fs::write(&img, &bytes).unwrap();
            exercise(&img);
        }
        // Random bytes, and short files.
        for len in [0usize, 100, 4096, 8191, 8192, 12288, 65536] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            std::fs::write(&img, &bytes).unwrap();
            exercise(&img);
            let mut with_magic = bytes.clone();
            if with_magic.len() >= 8192 {
                with_magic[4096..4100].copy_from_slice(&super::super::MAGIC.to_le_bytes());
                with_magic[4100..4104].copy_from_slice(&VERSION.to_le_bytes());
                std::fs::write(&img, &with_magic).unwrap();
                exercise(&img);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
