//! `rvmsmp mkfs IMG DIR`: a file system image holding a copy of a host
//! directory tree. The result depends only on the tree (names, contents)
//! and the options: entries are stored in byte order of their names,
//! inodes numbered depth first from the root (1), and each file's blocks
//! allocated one after another, its indirect block after its data.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{
    fs_err, valid_name, Dirent, Inode, Result, Superblock, BSIZE, DEFAULT_NLOG, DIRENT_SIZE, INODES_PER_BLOCK,
    INODE_SIZE, MAX_FILE_BYTES, NAME_MAX, NDIRECT, ROOT_INUM, SUPERBLOCK, T_DIR, T_FILE,
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
    /// Inodes (rounded up to a multiple of 64); `None`: one per 16 KiB of
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
    Dir(BTreeMap<Vec<u8>, Node>),
    File { path: PathBuf, len: u64 },
}

fn scan(path: &Path) -> Result<Node> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| fs_err!("{}: {e}", path.display()))?;
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
    Ok(Node::Dir(children))
}

/// One inode to write: its number, what it holds, and its blocks.
struct Planned<'a> {
    inum: u32,
    node: &'a Node,
    /// For a directory, its entries' bytes.
    dir_bytes: Vec<u8>,
    size: u64,
    blocks: Vec<u32>,
    indirect: u32,
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
    });
    match node {
        Node::File { len, .. } => out[at].size = *len,
        Node::Dir(children) => {
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

    // Allocate data blocks, in inode order.
    let mut next_block = u64::from(sb.datastart);
    for p in &mut planned {
        let n = p.size.div_ceil(BSIZE as u64);
        p.blocks = (0..n).map(|i| (next_block + i) as u32).collect();
        next_block += n;
        if n > NDIRECT as u64 {
            p.indirect = next_block as u32;
            next_block += 1;
        }
    }
    let data_blocks = next_block - u64::from(sb.datastart);
    if next_block > u64::from(size) || sb.datastart >= size {
        let available = u64::from(size).saturating_sub(u64::from(sb.datastart));
        return Err(fs_err!(
            "{}: does not fit in {} MiB: it needs {data_blocks} data blocks of 4096 bytes and the image has room for \
             {available} (after {} blocks of log, inodes and bitmap); use a larger --size",
            dir.display(),
            options.size_mib,
            sb.datastart
        ));
    }

    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(image)
        .map_err(|e| fs_err!("{}: cannot write the image: {e}", image.display()))?;
    write_image(&out, &sb, &planned, next_block).map_err(|e| fs_err!("{}: {e}", image.display()))?;
    out.sync_all().map_err(|e| fs_err!("{}: {e}", image.display()))?;
    Ok(MkfsSummary {
        files: planned.iter().filter(|p| matches!(p.node, Node::File { .. })).count() as u64,
        dirs: planned.iter().filter(|p| matches!(p.node, Node::Dir(_))).count() as u64,
        file_bytes: planned
            .iter()
            .filter(|p| matches!(p.node, Node::File { .. }))
            .map(|p| p.size)
            .sum(),
        sb,
        data_blocks,
    })
}

fn write_image(out: &File, sb: &Superblock, planned: &[Planned], used_end: u64) -> Result<()> {
    let at = |block: u64| block * BSIZE as u64;
    out.set_len(at(u64::from(sb.size)))?;
    out.write_all_at(&sb.to_block(), at(u64::from(SUPERBLOCK)))?;

    // The inode table, as far as inodes are used (the rest stays zero).
    let used_inodes = planned.iter().map(|p| p.inum as usize + 1).max().unwrap_or(0);
    let mut table = vec![0u8; used_inodes.next_multiple_of(INODES_PER_BLOCK) * INODE_SIZE];
    for p in planned {
        let mut inode = Inode {
            kind: if matches!(p.node, Node::Dir(_)) { T_DIR } else { T_FILE },
            nlink: 1,
            size: p.size,
            indirect: p.indirect,
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
    let mut bitmap = vec![0u8; (used_end as usize).div_ceil(8)];
    for b in 0..used_end as usize {
        bitmap[b / 8] |= 1 << (b % 8);
    }
    out.write_all_at(&bitmap, at(u64::from(sb.bmapstart)))?;

    // Contents and indirect blocks.
    for p in planned {
        let first = p.blocks.first().map(|&b| at(u64::from(b)));
        match (p.node, first) {
            (Node::Dir(_), Some(start)) => out.write_all_at(&p.dir_bytes, start)?,
            (Node::File { path, len }, Some(start)) => copy_file(path, *len, out, start)?,
            _ => {}
        }
        if p.indirect != 0 {
            let mut block = vec![0u8; BSIZE];
            for (i, &b) in p.blocks[NDIRECT..].iter().enumerate() {
                block[4 * i..4 * i + 4].copy_from_slice(&b.to_le_bytes());
            }
            out.write_all_at(&block, at(u64::from(p.indirect)))?;
        }
    }
    Ok(())
}

/// Copies exactly `len` bytes of the host file to `start` in the image.
fn copy_file(path: &Path, len: u64, out: &File, start: u64) -> Result<()> {
    let mut input = File::open(path).map_err(|e| fs_err!("{}: {e}", path.display()))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(buf.len() as u64) as usize;
        let got = input
            .read(&mut buf[..want])
            .map_err(|e| fs_err!("{}: {e}", path.display()))?;
        if got == 0 {
            return Err(fs_err!("{}: the file shrank while it was being copied", path.display()));
        }
        out.write_all_at(&buf[..got], start + done)?;
        done += got as u64;
    }
    Ok(())
}
