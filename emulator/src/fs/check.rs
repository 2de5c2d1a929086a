//! `rvmsmp fs check`: every rule of the Consistency section of
//! docs/fs-format.md, checked after installing a committed log in memory.
//! Each problem is one line of text; the image is never written.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use super::reader::FsImage;
use super::{
    fs_err, valid_name, Inode, Result, Superblock, BITS_PER_BLOCK, BSIZE, DIRENT_SIZE, MAX_FILE_BLOCKS, MAX_FILE_BYTES,
    NDIRECT, ROOT_INUM, SUPERBLOCK, SUPERBLOCK_BYTES, T_DIR, T_FILE, T_FREE,
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
    pub files: u64,
    pub dirs: u64,
    /// Data blocks that inodes use.
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
        format!(
            "{state}: {} files, {} directories, {} of {} data blocks in use, {} inodes, {} KiB{log}",
            self.files,
            self.dirs,
            self.used_blocks,
            sb.nblocks,
            sb.ninodes,
            u64::from(sb.size) * BSIZE as u64 / 1024
        )
    }
}

/// Who uses a block: an inode and a slot (0-10 direct, 11 the indirect
/// block itself, 12 + j entry j of the indirect block).
type Owner = (u32, usize);

fn slot_name(slot: usize) -> String {
    match slot {
        s if s < NDIRECT => format!("direct slot {s}"),
        s if s == NDIRECT => "its indirect block".into(),
        s => format!("indirect entry {}", s - NDIRECT - 1),
    }
}

/// Checks the image at `path`. `Err` only when the file cannot be read at
/// all; everything wrong with its contents is a problem in the report.
pub fn check(path: &Path) -> Result<CheckReport> {
    std::fs::File::open(path).map_err(|e| fs_err!("cannot read the image: {e}"))?;
    let mut report = CheckReport::default();
    let mut image = match FsImage::open_raw(path) {
        Ok(image) => image,
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
                    "inode {inum} is free (type 0) but not zeroed (nlink {}, size {}, blocks {:?}, indirect {})",
                    ino.nlink, ino.size, ino.addrs, ino.indirect
                )),
                T_FREE => {}
                _ if inum == 0 => self.problem(format!("inode 0 is in use (type {}); it must never be", ino.kind)),
                T_DIR | T_FILE => {
                    if ino.reserved != 0 {
                        self.problem(format!("inode {inum}: reserved field is {:#x}, not 0", ino.reserved));
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
    /// its size, used once. Returns who uses each block.
    fn blocks(&mut self, sb: &Superblock, inodes: &[Option<Inode>]) -> HashMap<u32, Owner> {
        let mut owners: HashMap<u32, Owner> = HashMap::new();
        let data = format!("{}..{}", sb.datastart, sb.size);
        for (inum, ino) in inodes.iter().enumerate() {
            let inum = inum as u32;
            let Some(ino) = ino.filter(|i| inum != 0 && (i.kind == T_DIR || i.kind == T_FILE)) else {
                continue;
            };
            let covered = (ino.size_blocks() as usize).min(MAX_FILE_BLOCKS);
            let mut refs: Vec<(usize, u32)> = ino.addrs.iter().copied().enumerate().filter(|&(_, b)| b != 0).collect();
            if ino.indirect != 0 {
                refs.push((NDIRECT, ino.indirect));
                if covered <= NDIRECT {
                    self.problem(format!(
                        "inode {inum}: has an indirect block ({}) but its size ({} bytes) needs none",
                        ino.indirect, ino.size
                    ));
                }
                if self.image.in_data_region(ino.indirect) {
                    match self.image.indirect_entries(inum, &ino) {
                        Ok(entries) => refs.extend(
                            entries
                                .into_iter()
                                .enumerate()
                                .filter(|&(_, b)| b != 0)
                                .map(|(j, b)| (NDIRECT + 1 + j, b)),
                        ),
                        Err(e) => self.problem(e.0),
                    }
                }
            }
            for (slot, b) in refs {
                let index = if slot > NDIRECT { slot - 1 } else { slot }; // block index in the file
                if slot != NDIRECT && index >= covered {
                    self.problem(format!(
                        "inode {inum}: {} holds block {b}, past its size ({} bytes, {covered} block(s))",
                        slot_name(slot),
                        ino.size
                    ));
                }
                if !self.image.in_data_region(b) {
                    self.problem(format!(
                        "inode {inum}: {} holds block {b}, outside the data region ({data})",
                        slot_name(slot)
                    ));
                    continue;
                }
                if let Some(&(other, other_slot)) = owners.get(&b) {
                    self.problem(format!(
                        "block {b} is used twice: by inode {other} ({}) and inode {inum} ({})",
                        slot_name(other_slot),
                        slot_name(slot)
                    ));
                } else {
                    owners.insert(b, (inum, slot));
                }
            }
        }
        self.report.used_blocks = owners.len() as u64;
        owners
    }

    /// The bitmap marks exactly blocks 0..datastart and the blocks inodes use.
    fn bitmap(&mut self, sb: &Superblock, owners: &HashMap<u32, Owner>) {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Wrong {
            MetadataFree,
            UsedFree,
            UnusedMarked,
            PastEnd,
        }
        let mut runs: Vec<(Wrong, u64, u64)> = Vec::new();
        for i in 0..super::bitmap_blocks(sb.size) {
            let block = match self.image.block(sb.bmapstart + i) {
                Ok(block) => block,
                Err(e) => {
                    self.problem(format!("bitmap block {i}: {e}"));
                    continue;
                }
            };
            let first = u64::from(i) * BITS_PER_BLOCK as u64;
            for (byte_index, &byte) in block.iter().enumerate() {
                let base = first + 8 * byte_index as u64;
                // Fast path: a byte of bits that are all as expected.
                if base + 8 <= u64::from(sb.datastart) && byte == 0xff {
                    continue;
                }
                if base >= u64::from(sb.size) && byte == 0 {
                    continue;
                }
                for bit in 0..8 {
                    let b = base + bit;
                    let set = byte & (1 << bit) != 0;
                    let wrong = if b >= u64::from(sb.size) {
                        set.then_some(Wrong::PastEnd)
                    } else if b < u64::from(sb.datastart) {
                        (!set).then_some(Wrong::MetadataFree)
                    } else {
                        match (owners.contains_key(&(b as u32)), set) {
                            (true, false) => Some(Wrong::UsedFree),
                            (false, true) => Some(Wrong::UnusedMarked),
                            _ => None,
                        }
                    };
                    if let Some(w) = wrong {
                        match runs.last_mut() {
                            Some((kind, _, end)) if *kind == w && *end + 1 == b => *end = b,
                            _ => runs.push((w, b, b)),
                        }
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
                Some(e) if e.name == b"." && e.inum == dir => {}
                _ => self.problem(format!(
                    "directory {path} (inode {dir}): the first entry is not '.' naming the directory itself"
                )),
            }
            match entries.get(1) {
                Some(e) if e.name == b".." && e.inum == parent => {}
                Some(e) if e.name == b".." => self.problem(format!(
                    "directory {path} (inode {dir}): '..' names inode {}, not its parent {parent}",
                    e.inum
                )),
                _ => self.problem(format!("directory {path} (inode {dir}): the second entry is not '..'")),
            }
            let mut names: HashSet<Vec<u8>> = HashSet::new();
            for (k, e) in entries.iter().enumerate().skip(2) {
                if e.inum == 0 {
                    continue;
                }
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
            match ino.kind {
                T_FILE => self.report.files += 1,
                T_DIR => self.report.dirs += 1,
                _ => continue,
            }
            if inum == 0 {
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
            if ino.kind == T_DIR && ino.nlink != 1 {
                self.problem(format!(
                    "directory {path} (inode {inum}): nlink is {}, a directory's is 1",
                    ino.nlink
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

    #[test]
    fn each_rule_is_enforced() {
        let (dir, img) = sample("rules", 2);
        let pristine = std::fs::read(&img).unwrap();
        let fs = FsImage::open(&img).unwrap();
        let sb = fs.sb;
        let inode_off = |inum: u32| u64::from(sb.inodestart) * BSIZE as u64 + 64 * u64::from(inum);
        let (g, g_ino) = fs.lookup("/g").unwrap();
        let (f, f_ino) = fs.lookup("/a/b/f").unwrap();
        let (a, a_ino) = fs.lookup("/a").unwrap();
        let bmap = u64::from(sb.bmapstart) * BSIZE as u64;
        let cases: Vec<((u64, Vec<u8>), &str)> = vec![
            (poke_case(BSIZE as u64 + 12, &0u32.to_le_bytes()), "nblocks"),
            (poke_case(BSIZE as u64, b"XXXX"), "not an rvmsmp file system"),
            (
                poke_case(inode_off(g) + 2, &2u16.to_le_bytes()),
                "nlink is 2 but 1 entry",
            ),
            (poke_case(inode_off(a) + 2, &2u16.to_le_bytes()), "a directory's is 1"),
            // f's second block also given to g.
            (
                poke_case(inode_off(g) + 20, &f_ino.addrs[1].to_le_bytes()),
                "past its size",
            ),
            (
                poke_case(inode_off(f) + 16, &f_ino.addrs[1].to_le_bytes()),
                "is used twice",
            ),
            (
                poke_case(inode_off(g) + 16, &1u32.to_le_bytes()),
                "outside the data region",
            ),
            (poke_case(bmap, &[0]), "marked free"),
            (
                poke_case(bmap + u64::from(sb.size - 1) / 8, &[0x80]),
                "marked in use but no inode uses them",
            ),
            (poke_case(inode_off(40), &[2]), "no directory reachable from the root"),
            (poke_case(inode_off(9) + 8, &[1]), "free (type 0) but not zeroed"),
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
            (poke_case(inode_off(g) + 8, &65u64.to_le_bytes()), ""),
            (
                poke_case(inode_off(a) + 8, &65u64.to_le_bytes()),
                "not a multiple of 64",
            ),
            (poke_case(u64::from(g_ino.addrs[0]) * BSIZE as u64 + 5000, b""), ""),
            (
                poke_case(inode_off(g) + 60, &f_ino.addrs[0].to_le_bytes()),
                "needs none",
            ),
        ];
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
        let inode_block = sb.inodestart + g / 64;
        let mut inodes = fs.block(inode_block).unwrap();
        inodes[64 * g as usize + 8..64 * g as usize + 16].copy_from_slice(&5u64.to_le_bytes());
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
                    let _ = fs.read_all(inum, &ino);
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
                with_magic[4100..4104].copy_from_slice(&1u32.to_le_bytes());
                std::fs::write(&img, &with_magic).unwrap();
                exercise(&img);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
