//! `rvmsmp mkfs IMG DIR`: a file system image holding a copy of a host
//! directory tree. The result depends only on the tree (names, contents,
//! permission bits) and the options: entries are stored in byte order of
//! their names, inodes numbered depth first from the root (1), owners and
//! times are 0, and each inode's blocks are allocated one after another,
//! every index block just before the first data block it maps.
//!
//! Contents are copied in runs of up to 1 MiB; blocks that are all zeros
//! are not written (the image is made with `set_len`, so they read as
//! zeros and stay unallocated on the host).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{
    fs_err, valid_name, Dirent, Inode, Result, Superblock, BSIZE, DEFAULT_NLOG, DIND_FIRST, DIRENT_SIZE,
    INODES_PER_BLOCK, INODE_SIZE, MAX_FILE_BYTES, MODE_MASK, NAME_MAX, NDIRECT, NINDIRECT, ROOT_INUM, SUPERBLOCK,
    T_DIR, T_FILE,
};

/// The default image size.
pub const DEFAULT_SIZE_MIB: u64 = 16;
/// The largest image: block numbers are 32 bits.
pub const MAX_SIZE_MIB: u64 = (u32::MAX as u64 * BSIZE as u64) >> 20;
/// By default one inode per four blocks (16 KiB), at most this many.
const DEFAULT_MAX_INODES: u64 = 65_536;

/// How to build the image.
#[derive(Clone, Debug)]
pub struct MkfsOptions {
    /// Image size in MiB.
    pub size_mib: u64,
    /// Inodes (rounded up to a multiple of 32); `None`: one per 16 KiB of
    /// image, at most 65536, and at least what the tree needs.
    pub inodes: Option<u64>,
    /// Log blocks, header included.
    pub nlog: u32,
}

impl Default for MkfsOptions {
    fn default() -> Self {
        MkfsOptions {
            size_mib: DEFAULT_SIZE_MIB,
            inodes: None,
            nlog: DEFAULT_NLOG,
        }
    }
}

/// What was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MkfsSummary {
    pub files: u64,
    pub dirs: u64,
    pub file_bytes: u64,
    pub sb: Superblock,
    /// Data blocks in use.
    pub data_blocks: u64,
}

/// A host directory tree, read before anything is written.
enum Node {
    Dir {
        children: BTreeMap<Vec<u8>, Node>,
        mode: u16,
    },
    File {
        path: PathBuf,
        len: u64,
        mode: u16,
    },
}

impl Node {
    fn is_dir(&self) -> bool {
        matches!(self, Node::Dir { .. })
    }
}

fn scan(path: &Path) -> Result<Node> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| fs_err!("{}: {e}", path.display()))?;
    let mode = (meta.permissions().mode() & u32::from(MODE_MASK)) as u16;
    if meta.is_file() {
        if meta.len() > MAX_FILE_BYTES {
            return Err(fs_err!(
                "{}: {} bytes is more than the largest file ({MAX_FILE_BYTES} bytes)",
                path.display(),
                meta.len()
            ));
        }
        return Ok(Node::File {
            path: path.to_path_buf(),
            len: meta.len(),
            mode,
        });
    }
    if !meta.is_dir() {
        return Err(fs_err!(
            "{}: not a regular file or a directory (symbolic links, devices, sockets and pipes cannot be stored)",
            path.display()
        ));
    }
    let mut children = BTreeMap::new();
    let entries = std::fs::read_dir(path).map_err(|e| fs_err!("{}: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| fs_err!("{}: {e}", path.display()))?;
        let name = entry.file_name().as_bytes().to_vec();
        let child = entry.path();
        if !valid_name(&name) {
            return Err(fs_err!(
                "{}: a name must be 1 to {NAME_MAX} bytes long, without '/' or zero bytes",
                child.display()
            ));
        }
        children.insert(name, scan(&child)?);
    }
    Ok(Node::Dir { children, mode })
}

/// One inode to write: its number, what it holds, and its blocks.
struct Planned<'a> {
    inum: u32,
    node: &'a Node,
    /// For a directory, its entries' bytes.
    dir_bytes: Vec<u8>,
    size: u64,
    /// The data block of each file block.
    blocks: Vec<u32>,
    indirect: u32,
    dindirect: u32,
    /// The second-level blocks, in the order the double-indirect block lists them.
    level2: Vec<u32>,
}

impl Planned<'_> {
    /// Every block the inode uses, data and index.
    fn nblocks(&self) -> u32 {
        let index = u32::from(self.indirect != 0) + u32::from(self.dindirect != 0) + self.level2.len() as u32;
        self.blocks.len() as u32 + index
    }
}

/// Index blocks a file of `n` blocks needs when it has no holes: the
/// indirect block, the double-indirect block and its second-level blocks.
pub fn index_blocks(n: u64) -> u64 {
    let indirect = u64::from(n > NDIRECT as u64);
    let double = match n.checked_sub(DIND_FIRST as u64) {
        Some(rest) if rest > 0 => 1 + rest.div_ceil(NINDIRECT as u64),
        _ => 0,
    };
    indirect + double
}

/// Numbers the tree's inodes depth first; fills directory contents.
fn plan<'a>(node: &'a Node, inum: u32, parent: u32, next: &mut u32, out: &mut Vec<Planned<'a>>) {
    let at = out.len();
    out.push(Planned {
        inum,
        node,
        dir_bytes: Vec::new(),
        size: 0,
        blocks: Vec::new(),
        indirect: 0,
        dindirect: 0,
        level2: Vec::new(),
    });
    match node {
        Node::File { len, .. } => out[at].size = *len,
        Node::Dir { children, .. } => {
            let mut bytes = Vec::with_capacity((children.len() + 2) * DIRENT_SIZE);
            bytes.extend_from_slice(&Dirent::encode(inum, b"."));
            bytes.extend_from_slice(&Dirent::encode(parent, b".."));
            for (name, child) in children {
                let child_inum = *next;
                *next += 1;
                bytes.extend_from_slice(&Dirent::encode(child_inum, name));
                plan(child, child_inum, inum, next, out);
            }
            out[at].size = bytes.len() as u64;
            out[at].dir_bytes = bytes;
        }
    }
}

/// Gives `p` its blocks from `*next` on: each index block just before the
/// first data block it maps, the double-indirect block before the first
/// second-level block. The caller has checked that they fit in 32 bits.
fn allocate(p: &mut Planned, next: &mut u64) {
    let n = p.size.div_ceil(BSIZE as u64) as usize;
    let mut take = || {
        let b = *next as u32;
        *next += 1;
        b
    };
    p.blocks.reserve_exact(n);
    for i in 0..n {
        if i == NDIRECT {
            p.indirect = take();
        }
        if i >= DIND_FIRST {
            if i == DIND_FIRST {
                p.dindirect = take();
            }
            if (i - DIND_FIRST) % NINDIRECT == 0 {
                let b = take();
                p.level2.push(b);
            }
        }
        let b = take();
        p.blocks.push(b);
    }
}

/// Builds the image `image` from the directory `dir`. Nothing is written
/// unless the whole tree fits.
pub fn mkfs(image: &Path, dir: &Path, options: &MkfsOptions) -> Result<MkfsSummary> {
    if !dir.is_dir() {
        return Err(fs_err!("{}: not a directory", dir.display()));
    }
    if options.size_mib == 0 || options.size_mib > MAX_SIZE_MIB {
        return Err(fs_err!(
            "--size {}: the size must be 1 to {MAX_SIZE_MIB} MiB",
            options.size_mib
        ));
    }
    let tree = scan(dir)?;
    let mut planned = Vec::new();
    let mut next = ROOT_INUM + 1;
    plan(&tree, ROOT_INUM, ROOT_INUM, &mut next, &mut planned);
    let needed_inodes = u64::from(next); // inode 0 is never used
    if planned.iter().any(|p| p.size > MAX_FILE_BYTES) {
        return Err(fs_err!("{}: a directory has too many entries", dir.display()));
    }

    let size = (options.size_mib * (1 << 20) / BSIZE as u64) as u32;
    let ninodes = match options.inodes {
        Some(n) => {
            if n < needed_inodes {
                return Err(fs_err!(
                    "{}: needs {needed_inodes} inodes (one per file and directory, and inode 0); --inodes {n} is too few",
                    dir.display()
                ));
            }
            n
        }
        None => needed_inodes.max((u64::from(size) / 4).min(DEFAULT_MAX_INODES)),
    }
    .next_multiple_of(INODES_PER_BLOCK as u64);
    if ninodes > u64::from(u32::MAX) {
        return Err(fs_err!("--inodes {ninodes}: too many"));
    }
    let sb = Superblock::layout(size, ninodes as u32, options.nlog);

    // What the tree needs, before anything is allocated.
    let data_blocks: u64 = planned
        .iter()
        .map(|p| {
            let n = p.size.div_ceil(BSIZE as u64);
            n + index_blocks(n)
        })
        .sum();
    let available = u64::from(size).saturating_sub(u64::from(sb.datastart));
    if sb.datastart >= size || data_blocks > available {
        return Err(fs_err!(
            "{}: does not fit in {} MiB: it needs {data_blocks} data blocks of 4096 bytes and the image has room for \
             {available} (after {} blocks of log, inodes and bitmap); use a larger --size",
            dir.display(),
            options.size_mib,
            sb.datastart
        ));
    }
    // Allocate, in inode order.
    let mut next_block = u64::from(sb.datastart);
    for p in &mut planned {
        allocate(p, &mut next_block);
    }
    debug_assert_eq!(next_block - u64::from(sb.datastart), data_blocks);

    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(image)
        .map_err(|e| fs_err!("{}: cannot write the image: {e}", image.display()))?;
    write_image(&out, &sb, &planned, next_block).map_err(|e| fs_err!("{}: {e}", image.display()))?;
    out.sync_all().map_err(|e| fs_err!("{}: {e}", image.display()))?;
    let files = || planned.iter().filter(|p| !p.node.is_dir());
    Ok(MkfsSummary {
        files: files().count() as u64,
        dirs: planned.iter().filter(|p| p.node.is_dir()).count() as u64,
        file_bytes: files().map(|p| p.size).sum(),
        sb,
        data_blocks,
    })
}

/// Byte offset of block `b`.
fn at(b: u64) -> u64 {
    b * BSIZE as u64
}

fn write_image(out: &File, sb: &Superblock, planned: &[Planned], used_end: u64) -> Result<()> {
    out.set_len(at(u64::from(sb.size)))?;
    out.write_all_at(&sb.to_block(), at(u64::from(SUPERBLOCK)))?;

    // The inode table, as far as inodes are used (the rest stays zero).
    let used_inodes = planned.iter().map(|p| p.inum as usize + 1).max().unwrap_or(0);
    let mut table = vec![0u8; used_inodes.next_multiple_of(INODES_PER_BLOCK) * INODE_SIZE];
    for p in planned {
        // A directory is named by its entry, its own "." and each
        // subdirectory's "..", as on Unix.
        let (kind, mode, nlink) = match p.node {
            Node::Dir { mode, children } => {
                let subdirs = children.iter().filter(|(_, c)| c.is_dir()).count();
                (T_DIR, *mode, u16::try_from(2 + subdirs).unwrap_or(u16::MAX))
            }
            Node::File { mode, .. } => (T_FILE, *mode, 1),
        };
        let mut inode = Inode {
            kind,
            nlink,
            mode,
            size: p.size,
            nblocks: p.nblocks(),
            indirect: p.indirect,
            dindirect: p.dindirect,
            ..Inode::default()
        };
        for (slot, &b) in inode.addrs.iter_mut().zip(&p.blocks) {
            *slot = b;
        }
        let off = p.inum as usize * INODE_SIZE;
        inode.write(&mut table[off..off + INODE_SIZE]);
    }
    out.write_all_at(&table, at(u64::from(sb.inodestart)))?;

    // The bitmap: metadata and every allocated block, contiguous from 0.
    let used_end = used_end as usize;
    let mut bitmap = vec![0xffu8; used_end.div_ceil(8)];
    if used_end % 8 != 0 {
        *bitmap.last_mut().expect("at least one byte") = (1u8 << (used_end % 8)) - 1;
    }
    out.write_all_at(&bitmap, at(u64::from(sb.bmapstart)))?;

    // Contents and index blocks.
    let mut buf = vec![0u8; COPY_BLOCKS * BSIZE];
    for p in planned {
        let source = match p.node {
            Node::Dir { .. } => Source::Bytes(&p.dir_bytes),
            Node::File { path, len, .. } => Source::open(path, *len)?,
        };
        write_contents(out, &p.blocks, &source, p.size, &mut buf)?;
        let entries = |from: usize| &p.blocks[from.min(p.blocks.len())..(from + NINDIRECT).min(p.blocks.len())];
        if p.indirect != 0 {
            write_index(out, p.indirect, entries(NDIRECT))?;
        }
        if p.dindirect != 0 {
            write_index(out, p.dindirect, &p.level2)?;
        }
        for (j, &b) in p.level2.iter().enumerate() {
            write_index(out, b, entries(DIND_FIRST + j * NINDIRECT))?;
        }
    }
    Ok(())
}

/// Blocks copied per read: 1 MiB.
const COPY_BLOCKS: usize = 256;

/// An index block holding `entries` (the rest zeros).
fn write_index(out: &File, block: u32, entries: &[u32]) -> Result<()> {
    let mut bytes = vec![0u8; BSIZE];
    for (slot, b) in bytes.chunks_exact_mut(4).zip(entries) {
        slot.copy_from_slice(&b.to_le_bytes());
    }
    out.write_all_at(&bytes, at(u64::from(block)))?;
    Ok(())
}

/// Whether a block of bytes is all zeros (written so that it vectorizes).
fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |acc, &b| acc | b) == 0
}

/// Where an inode's contents come from.
enum Source<'a> {
    /// A directory's entries.
    Bytes(&'a [u8]),
    /// A host file, `len` bytes long.
    File { file: File, path: &'a Path },
}

impl<'a> Source<'a> {
    fn open(path: &'a Path, len: u64) -> Result<Source<'a>> {
        let file = File::open(path).map_err(|e| fs_err!("{}: {e}", path.display()))?;
        let now = file.metadata().map_err(|e| fs_err!("{}: {e}", path.display()))?.len();
        if now < len {
            return Err(fs_err!("{}: the file shrank while it was being copied", path.display()));
        }
        Ok(Source::File { file, path })
    }

    /// Fills `buf` with the bytes at `offset`. Returns false, reading
    /// nothing, when they lie in a hole of the host file (all zeros).
    fn fill(&self, buf: &mut [u8], offset: u64) -> Result<bool> {
        match self {
            Source::Bytes(bytes) => {
                buf.copy_from_slice(&bytes[offset as usize..offset as usize + buf.len()]);
                Ok(true)
            }
            Source::File { file, path } => {
                if hole_until(file, offset) >= offset + buf.len() as u64 {
                    return Ok(false);
                }
                file.read_exact_at(buf, offset).map_err(|e| match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => {
                        fs_err!("{}: the file shrank while it was being copied", path.display())
                    }
                    _ => fs_err!("{}: {e}", path.display()),
                })?;
                Ok(true)
            }
        }
    }
}

/// Where the host file's data resumes at or after `offset`: `offset`
/// itself unless it is in a hole (SEEK_DATA); `u64::MAX` when no data
/// follows. A file system without SEEK_DATA has no holes to report.
fn hole_until(file: &File, offset: u64) -> u64 {
    use std::os::fd::AsRawFd;
    let Ok(at) = libc::off_t::try_from(offset) else {
        return offset;
    };
    // SAFETY: lseek on a descriptor we own; it only moves the file offset,
    // which nothing else here uses (reads are positioned).
    let data = unsafe { libc::lseek(file.as_raw_fd(), at, libc::SEEK_DATA) };
    if data >= 0 {
        return (data as u64).max(offset);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ENXIO) => u64::MAX,
        _ => offset,
    }
}

/// Copies the `len` bytes of `source` to the data blocks `blocks` (one per
/// file block, consecutive numbers in runs), up to `buf.len()` bytes at a
/// time, writing only the blocks that are not all zeros.
fn write_contents(out: &File, blocks: &[u32], source: &Source, len: u64, buf: &mut [u8]) -> Result<()> {
    let per_read = buf.len() / BSIZE;
    let mut i = 0; // file block
    while i < blocks.len() {
        // A run of consecutive image blocks, at most one buffer long.
        let mut j = i + 1;
        while j < blocks.len() && j - i < per_read && Some(blocks[j]) == blocks[i].checked_add((j - i) as u32) {
            j += 1;
        }
        let offset = i as u64 * BSIZE as u64;
        let want = ((j - i) as u64 * BSIZE as u64).min(len - offset) as usize;
        let chunk = &mut buf[..want];
        if !source.fill(chunk, offset)? {
            i = j;
            continue;
        }
        // Write the non-zero blocks of the run, each stretch in one call.
        let mut k = 0;
        while k < want {
            let end = |k: usize| (k + BSIZE).min(want);
            if all_zero(&chunk[k..end(k)]) {
                k = end(k);
                continue;
            }
            let start = k;
            while k < want && !all_zero(&chunk[k..end(k)]) {
                k = end(k);
            }
            out.write_all_at(&chunk[start..k], at(u64::from(blocks[i])) + start as u64)?;
        }
        i = j;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::check::check;
    use super::super::reader::FsImage;
    use super::super::MAX_FILE_BLOCKS;
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn scratch(name: &str) -> PathBuf {
        crate::fs::check::tests::scratch(name)
    }

    #[test]
    fn index_blocks_counts_each_level() {
        assert_eq!(index_blocks(0), 0);
        assert_eq!(index_blocks(12), 0);
        assert_eq!(index_blocks(13), 1);
        assert_eq!(index_blocks(1036), 1);
        assert_eq!(index_blocks(1037), 3);
        assert_eq!(index_blocks(1036 + 1024), 3);
        assert_eq!(index_blocks(1036 + 1025), 4);
        assert_eq!(index_blocks(MAX_FILE_BLOCKS as u64), 1 + 1 + 1024);
    }

    #[test]
    fn modes_come_from_the_host_and_times_and_owners_are_zero() {
        let dir = scratch("modes");
        let tree = dir.join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::write(tree.join("sub/run"), b"#!/bin/sh\n").unwrap();
        std::fs::write(tree.join("ro"), b"r").unwrap();
        let set =
            |p: &str, mode: u32| std::fs::set_permissions(tree.join(p), std::fs::Permissions::from_mode(mode)).unwrap();
        set("sub/run", 0o4751);
        set("ro", 0o444);
        set("sub", 0o1750);
        set(".", 0o755);
        let img = dir.join("a.img");
        mkfs(&img, &tree, &MkfsOptions::default()).unwrap();
        let fs = FsImage::open(&img).unwrap();
        for (path, mode) in [("/", 0o755), ("/sub", 0o1750), ("/sub/run", 0o4751), ("/ro", 0o444)] {
            let (_, ino) = fs.lookup(path).unwrap();
            assert_eq!(ino.mode, mode, "{path}");
            assert_eq!(
                (ino.uid, ino.gid, ino.atime_sec, ino.mtime_sec, ino.ctime_sec),
                (0, 0, 0, 0, 0)
            );
            assert_eq!((ino.atime_nsec, ino.mtime_nsec, ino.ctime_nsec), (0, 0, 0));
        }
        assert!(check(&img).unwrap().problems.is_empty());
        // Other host times give the same bytes.
        let first = std::fs::read(&img).unwrap();
        std::fs::File::options()
            .write(true)
            .open(tree.join("ro"))
            .unwrap()
            .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(12345))
            .unwrap();
        mkfs(&img, &tree, &MkfsOptions::default()).unwrap();
        assert!(std::fs::read(&img).unwrap() == first);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_with_an_indirect_block_reads_back() {
        // 1000 entries: 16 blocks, so the indirect block sits in the middle.
        let dir = scratch("bigdir");
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        for i in 0..998 {
            std::fs::write(tree.join(format!("f{i:04}")), i.to_string()).unwrap();
        }
        let img = dir.join("a.img");
        mkfs(&img, &tree, &MkfsOptions::default()).unwrap();
        assert_eq!(check(&img).unwrap().problems, Vec::<String>::new());
        let fs = FsImage::open(&img).unwrap();
        let (inum, ino) = fs.lookup("/").unwrap();
        assert!(ino.indirect != 0 && ino.nblocks == 17);
        assert_eq!(fs.dir_entries(inum, &ino).unwrap().len(), 1000);
        let (inum, ino) = fs.lookup("/f0997").unwrap();
        assert_eq!(fs.read_all(inum, &ino).unwrap(), b"997");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_64_gib_image_is_sparse_and_checks_clean() {
        let dir = scratch("huge-image");
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(tree.join("a"), b"a").unwrap();
        let img = dir.join("a.img");
        let options = MkfsOptions {
            size_mib: 64 << 10,
            ..MkfsOptions::default()
        };
        let summary = mkfs(&img, &tree, &options).unwrap();
        assert_eq!(summary.sb.size, 1 << 24);
        assert_eq!(std::fs::metadata(&img).unwrap().len(), 64 << 30);
        assert!(std::fs::metadata(&img).unwrap().blocks() * 512 < 16 << 20);
        let r = check(&img).unwrap();
        assert_eq!(r.problems, Vec::<String>::new());
        assert_eq!(r.sb.unwrap().nblocks, (1 << 24) - summary.sb.datastart);
        // The largest image is accepted as an option, one more MiB is not.
        let too_big = MkfsOptions {
            size_mib: MAX_SIZE_MIB + 1,
            ..MkfsOptions::default()
        };
        let e = mkfs(&img, &tree, &too_big).unwrap_err().0;
        assert!(e.contains("the size must be 1 to 16777215 MiB"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_largest_file_fits_and_one_byte_more_is_refused() {
        let dir = scratch("largest");
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        let path = tree.join("max");
        let f = File::create(&path).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap(); // sparse on the host
        let img = dir.join("a.img");
        let options = MkfsOptions {
            size_mib: 4200,
            ..MkfsOptions::default()
        };
        let e = mkfs(&img, &tree, &options).unwrap_err().0;
        assert!(
            e.contains("4299210753 bytes is more than the largest file (4299210752 bytes)"),
            "{e}"
        );
        assert!(!img.exists());

        f.set_len(MAX_FILE_BYTES).unwrap();
        f.write_all_at(b"end", MAX_FILE_BYTES - 3).unwrap();
        let summary = mkfs(&img, &tree, &options).unwrap();
        assert_eq!(summary.data_blocks, MAX_FILE_BLOCKS as u64 + 1 + 1 + 1024 + 1);
        let r = check(&img).unwrap();
        assert_eq!(r.problems, Vec::<String>::new());
        let fs = FsImage::open(&img).unwrap();
        let (inum, ino) = fs.lookup("/max").unwrap();
        assert_eq!(ino.nblocks as u64, MAX_FILE_BLOCKS as u64 + 1026);
        let blocks = fs.content_blocks(inum, &ino).unwrap();
        assert_eq!(blocks.len(), MAX_FILE_BLOCKS);
        let last = fs.block(*blocks.last().unwrap()).unwrap();
        assert_eq!(&last[BSIZE - 3..], b"end");
        // Written only where it is not zero: the index blocks and the last block.
        assert!(std::fs::metadata(&img).unwrap().blocks() * 512 < 16 << 20);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
