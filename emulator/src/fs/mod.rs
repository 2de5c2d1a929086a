//! The rvmsmp file system as it lies on the disk (docs/fs-format.md): the
//! format's constants and structures, `mkfs` (a host directory tree to an
//! image), a read-only reader that installs a committed log in memory
//! first, and the consistency check of `rvmsmp fs check`.
//!
//! Nothing here trusts the image: every number read from it is checked
//! before it is used, so a corrupt image gives errors, never a panic.

pub mod check;
pub mod mkfs;
pub mod reader;

use std::fmt;

/// Bytes per block.
pub const BSIZE: usize = 4096;
/// 512-byte sectors per block.
pub const SECTORS_PER_BLOCK: u64 = (BSIZE / 512) as u64;
/// The superblock's magic number: the bytes "RMFS".
pub const MAGIC: u32 = 0x5346_4d52;
/// The format version this code reads and writes.
pub const VERSION: u32 = 2;
/// The block holding the superblock.
pub const SUPERBLOCK: u32 = 1;
/// Direct block numbers in an inode: file blocks `0 .. NDIRECT`.
pub const NDIRECT: usize = 12;
/// Block numbers in an index block (indirect, double-indirect or second-level).
pub const NINDIRECT: usize = BSIZE / 4;
/// The first file block the double-indirect block maps (the indirect block
/// maps `NDIRECT .. DIND_FIRST`).
pub const DIND_FIRST: usize = NDIRECT + NINDIRECT;
/// The largest file, in blocks and bytes (a little over 4 GiB).
pub const MAX_FILE_BLOCKS: usize = DIND_FIRST + NINDIRECT * NINDIRECT;
pub const MAX_FILE_BYTES: u64 = MAX_FILE_BLOCKS as u64 * BSIZE as u64;
/// Bytes per on-disk inode, and inodes per block.
pub const INODE_SIZE: usize = 128;
pub const INODES_PER_BLOCK: usize = BSIZE / INODE_SIZE;
/// The permission bits an inode's `mode` may hold.
pub const MODE_MASK: u16 = 0o7777;
/// Nanoseconds in a second: every `*_nsec` field is below it.
pub const NSEC_PER_SEC: u32 = 1_000_000_000;
/// Bitmap bits per block.
pub const BITS_PER_BLOCK: usize = BSIZE * 8;
/// Bytes per directory entry, and the longest name.
pub const DIRENT_SIZE: usize = 64;
pub const NAME_MAX: usize = 59;
/// The root directory's inode.
pub const ROOT_INUM: u32 = 1;
/// Inode types.
pub const T_FREE: u16 = 0;
pub const T_DIR: u16 = 1;
pub const T_FILE: u16 = 2;
/// Log blocks (header included) that mkfs makes by default.
pub const DEFAULT_NLOG: u32 = 127;

/// A problem with an image, in words (the caller adds the file name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsError(pub String);

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FsError {}

impl From<std::io::Error> for FsError {
    fn from(e: std::io::Error) -> FsError {
        FsError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, FsError>;

/// Builds an error from a format string.
macro_rules! fs_err {
    ($($arg:tt)*) => { $crate::fs::FsError(format!($($arg)*)) };
}
pub(crate) use fs_err;

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn i64_at(b: &[u8], off: usize) -> i64 {
    u64_at(b, off) as i64
}

/// Why an image with the right magic number but another `version` cannot
/// be read (the caller adds the file name).
pub fn version_error(version: u32) -> FsError {
    if version < VERSION {
        fs_err!(
            "file system version {version}; this rvmsmp reads version {VERSION}: remake the image with \
             `rvmsmp mkfs IMG DIR` (an older rvmsmp's `fs get` extracts the files)"
        )
    } else {
        fs_err!("file system version {version}; this rvmsmp reads version {VERSION} (a newer rvmsmp made the image)")
    }
}

/// The superblock (block 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Superblock {
    pub magic: u32,
    pub version: u32,
    /// Blocks in the image.
    pub size: u32,
    /// Data blocks: `size - datastart`.
    pub nblocks: u32,
    pub ninodes: u32,
    pub nlog: u32,
    pub logstart: u32,
    pub inodestart: u32,
    pub bmapstart: u32,
    pub datastart: u32,
}

/// Bytes of the superblock's fields; the rest of the block is zero.
pub const SUPERBLOCK_BYTES: usize = 40;

impl Superblock {
    /// The layout mkfs makes for an image of `size` blocks with `ninodes`
    /// inodes (a multiple of 32) and `nlog` log blocks. A layout whose
    /// metadata would not fit in 32-bit block numbers gets `datastart` =
    /// `u32::MAX`, which [`Superblock::validate`] (and mkfs) refuse.
    pub fn layout(size: u32, ninodes: u32, nlog: u32) -> Superblock {
        let logstart = 2u32;
        let inodestart = logstart.saturating_add(nlog);
        let bmapstart = inodestart.saturating_add(ninodes / INODES_PER_BLOCK as u32);
        let datastart = bmapstart.saturating_add(bitmap_blocks(size));
        Superblock {
            magic: MAGIC,
            version: VERSION,
            size,
            nblocks: size.saturating_sub(datastart),
            ninodes,
            nlog,
            logstart,
            inodestart,
            bmapstart,
            datastart,
        }
    }

    pub fn parse(block: &[u8]) -> Superblock {
        let f = |i: usize| u32_at(block, 4 * i);
        Superblock {
            magic: f(0),
            version: f(1),
            size: f(2),
            nblocks: f(3),
            ninodes: f(4),
            nlog: f(5),
            logstart: f(6),
            inodestart: f(7),
            bmapstart: f(8),
            datastart: f(9),
        }
    }

    pub fn to_block(&self) -> Vec<u8> {
        let mut b = vec![0u8; BSIZE];
        let fields = [
            self.magic,
            self.version,
            self.size,
            self.nblocks,
            self.ninodes,
            self.nlog,
            self.logstart,
            self.inodestart,
            self.bmapstart,
            self.datastart,
        ];
        for (i, v) in fields.iter().enumerate() {
            b[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// Blocks in the inode table.
    pub fn inode_blocks(&self) -> u32 {
        self.ninodes.div_ceil(INODES_PER_BLOCK as u32)
    }

    /// The checks every reader needs before it can use the superblock: the
    /// magic number and version, and regions in order (log, inodes, bitmap,
    /// data), apart, and inside the image. `file_blocks` is how many whole
    /// blocks the image file holds.
    pub fn validate(&self, file_blocks: u64) -> Result<()> {
        if self.magic != MAGIC {
            return Err(fs_err!(
                "not an rvmsmp file system (superblock magic {:#010x}, expected {MAGIC:#010x})",
                self.magic
            ));
        }
        if self.version != VERSION {
            return Err(version_error(self.version));
        }
        if u64::from(self.size) > file_blocks {
            return Err(fs_err!(
                "the superblock says {} blocks but the image holds {file_blocks}",
                self.size
            ));
        }
        if self.ninodes < 2 || self.ninodes % INODES_PER_BLOCK as u32 != 0 {
            return Err(fs_err!(
                "superblock: ninodes {} is not a positive multiple of {INODES_PER_BLOCK}",
                self.ninodes
            ));
        }
        if self.nlog < 2 {
            return Err(fs_err!(
                "superblock: nlog {} leaves no room for a header and a log block",
                self.nlog
            ));
        }
        if self.logstart < 2 {
            return Err(fs_err!(
                "superblock: logstart {} overlaps the boot block or superblock",
                self.logstart
            ));
        }
        // Regions in order, each ending at or before the next one starts.
        let regions = [
            ("the log", u64::from(self.logstart), u64::from(self.nlog)),
            (
                "the inode table",
                u64::from(self.inodestart),
                u64::from(self.inode_blocks()),
            ),
            (
                "the bitmap",
                u64::from(self.bmapstart),
                u64::from(bitmap_blocks(self.size)),
            ),
        ];
        let mut end = 2u64;
        for (name, start, len) in regions {
            if start < end {
                return Err(fs_err!(
                    "superblock: {name} starts at block {start}, inside the region before it (which ends at {end})"
                ));
            }
            end = start + len;
        }
        if u64::from(self.datastart) < end {
            return Err(fs_err!(
                "superblock: the data region starts at block {}, inside the bitmap (which ends at {end})",
                self.datastart
            ));
        }
        if self.datastart >= self.size {
            return Err(fs_err!(
                "superblock: the data region starts at block {} but the image has {} blocks",
                self.datastart,
                self.size
            ));
        }
        Ok(())
    }
}

/// Bitmap blocks for an image of `size` blocks.
pub fn bitmap_blocks(size: u32) -> u32 {
    size.div_ceil(BITS_PER_BLOCK as u32)
}

/// An on-disk inode (128 bytes; docs/fs-format.md has the offsets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inode {
    pub kind: u16,
    /// Entries naming it (a directory: 1); 0 for an orphan.
    pub nlink: u16,
    /// Permission bits, at most [`MODE_MASK`].
    pub mode: u16,
    pub reserved0: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Blocks it uses: data blocks and index blocks.
    pub nblocks: u32,
    pub reserved1: u32,
    pub atime_sec: i64,
    pub mtime_sec: i64,
    pub ctime_sec: i64,
    pub atime_nsec: u32,
    pub mtime_nsec: u32,
    pub ctime_nsec: u32,
    pub reserved2: u32,
    /// File blocks `0 .. NDIRECT`.
    pub addrs: [u32; NDIRECT],
    /// A block of block numbers for file blocks `NDIRECT .. DIND_FIRST`.
    pub indirect: u32,
    /// A block of second-level block numbers: entry `j`'s block maps file
    /// blocks `DIND_FIRST + NINDIRECT * j ..` (NINDIRECT of them).
    pub dindirect: u32,
}

/// Offsets of the inode's fields.
const I_ADDRS: usize = 72;
const I_INDIRECT: usize = I_ADDRS + 4 * NDIRECT;
const I_DINDIRECT: usize = I_INDIRECT + 4;
const _: () = assert!(I_DINDIRECT + 4 == INODE_SIZE);

impl Inode {
    pub fn parse(b: &[u8]) -> Inode {
        let mut addrs = [0u32; NDIRECT];
        for (i, a) in addrs.iter_mut().enumerate() {
            *a = u32_at(b, I_ADDRS + 4 * i);
        }
        Inode {
            kind: u16_at(b, 0),
            nlink: u16_at(b, 2),
            mode: u16_at(b, 4),
            reserved0: u16_at(b, 6),
            uid: u32_at(b, 8),
            gid: u32_at(b, 12),
            size: u64_at(b, 16),
            nblocks: u32_at(b, 24),
            reserved1: u32_at(b, 28),
            atime_sec: i64_at(b, 32),
            mtime_sec: i64_at(b, 40),
            ctime_sec: i64_at(b, 48),
            atime_nsec: u32_at(b, 56),
            mtime_nsec: u32_at(b, 60),
            ctime_nsec: u32_at(b, 64),
            reserved2: u32_at(b, 68),
            addrs,
            indirect: u32_at(b, I_INDIRECT),
            dindirect: u32_at(b, I_DINDIRECT),
        }
    }

    /// Writes the inode's 128 bytes to `b[..INODE_SIZE]`.
    pub fn write(&self, b: &mut [u8]) {
        let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
        put(0, &self.kind.to_le_bytes());
        put(2, &self.nlink.to_le_bytes());
        put(4, &self.mode.to_le_bytes());
        put(6, &self.reserved0.to_le_bytes());
        put(8, &self.uid.to_le_bytes());
        put(12, &self.gid.to_le_bytes());
        put(16, &self.size.to_le_bytes());
        put(24, &self.nblocks.to_le_bytes());
        put(28, &self.reserved1.to_le_bytes());
        put(32, &self.atime_sec.to_le_bytes());
        put(40, &self.mtime_sec.to_le_bytes());
        put(48, &self.ctime_sec.to_le_bytes());
        put(56, &self.atime_nsec.to_le_bytes());
        put(60, &self.mtime_nsec.to_le_bytes());
        put(64, &self.ctime_nsec.to_le_bytes());
        put(68, &self.reserved2.to_le_bytes());
        for (i, a) in self.addrs.iter().enumerate() {
            put(I_ADDRS + 4 * i, &a.to_le_bytes());
        }
        put(I_INDIRECT, &self.indirect.to_le_bytes());
        put(I_DINDIRECT, &self.dindirect.to_le_bytes());
    }

    /// Blocks its size covers: `ceil(size / 4096)`.
    pub fn size_blocks(&self) -> u64 {
        self.size.div_ceil(BSIZE as u64)
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            T_FREE => "free",
            T_DIR => "dir",
            T_FILE => "file",
            _ => "unknown",
        }
    }
}

/// A directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    pub inum: u32,
    /// The name bytes up to the first zero.
    pub name: Vec<u8>,
    /// The raw 60 name bytes (to check the padding).
    pub raw: [u8; DIRENT_SIZE - 4],
}

impl Dirent {
    pub fn parse(b: &[u8]) -> Dirent {
        let mut raw = [0u8; DIRENT_SIZE - 4];
        raw.copy_from_slice(&b[4..DIRENT_SIZE]);
        let len = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        Dirent {
            inum: u32_at(b, 0),
            name: raw[..len].to_vec(),
            raw,
        }
    }

    /// The 64 bytes of an entry naming `inum` (the name checked by the caller).
    pub fn encode(inum: u32, name: &[u8]) -> [u8; DIRENT_SIZE] {
        let mut b = [0u8; DIRENT_SIZE];
        b[0..4].copy_from_slice(&inum.to_le_bytes());
        b[4..4 + name.len()].copy_from_slice(name);
        b
    }

    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Whether `name` can be stored in a directory entry: 1 to 59 bytes,
/// no `/` and no zero byte.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= NAME_MAX && !name.contains(&b'/') && !name.contains(&0)
}

/// The log header: the home block numbers of the blocks in the log.
pub fn parse_log_header(block: &[u8]) -> (u32, Vec<u32>) {
    let n = u32_at(block, 0);
    let count = (n as usize).min(BSIZE / 4 - 1);
    let homes = (0..count).map(|i| u32_at(block, 4 + 4 * i)).collect();
    (n, homes)
}

/// Checks that the file at `path` holds a file system the kernel can
/// mount: at least a boot block and a superblock, the right magic and
/// version, and a size the file holds. Used before `rvmsmp run --disk`.
pub fn check_formatted(path: &std::path::Path) -> Result<Superblock> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len < 2 * BSIZE as u64 {
        return Err(fs_err!(
            "is too small for a file system ({len} bytes; the superblock alone ends at {} bytes)",
            2 * BSIZE
        ));
    }
    let mut block = vec![0u8; BSIZE];
    file.read_exact_at(&mut block, BSIZE as u64)?;
    let sb = Superblock::parse(&block);
    if sb.magic != MAGIC {
        return Err(fs_err!(
            "is not formatted: no rvmsmp file system superblock (make one with `rvmsmp mkfs IMG DIR`)"
        ));
    }
    if sb.version != VERSION {
        return Err(version_error(sb.version));
    }
    if u64::from(sb.size) * BSIZE as u64 > len {
        return Err(fs_err!(
            "is too small: its superblock says {} blocks of 4096 bytes but the file holds {len} bytes",
            sb.size
        ));
    }
    Ok(sb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superblock_round_trips_and_magic_spells_rmfs() {
        let sb = Superblock::layout(4096, 1024, DEFAULT_NLOG);
        assert_eq!(&sb.to_block()[..4], b"RMFS");
        assert_eq!(Superblock::parse(&sb.to_block()), sb);
        assert_eq!(
            (sb.logstart, sb.inodestart, sb.bmapstart, sb.datastart),
            (2, 129, 161, 162)
        );
        assert_eq!(sb.nblocks, 4096 - 162);
        assert_eq!(sb.version, 2);
        sb.validate(4096).unwrap();
        assert!(sb.validate(4095).is_err());
        // ninodes a multiple of 32, not 64.
        let sb = Superblock::layout(4096, 96, DEFAULT_NLOG);
        sb.validate(4096).unwrap();
        let odd = Superblock { ninodes: 48, ..sb };
        assert!(odd.validate(4096).unwrap_err().0.contains("multiple of 32"));
    }

    #[test]
    fn the_largest_image_lays_out_without_overflow() {
        // 2^32 - 1 blocks (16 TiB), the most inodes the table can number.
        let sb = Superblock::layout(u32::MAX, 65536, DEFAULT_NLOG);
        assert_eq!(sb.datastart, 2 + 127 + 65536 / 32 + u32::MAX.div_ceil(32768));
        assert_eq!(sb.nblocks, u32::MAX - sb.datastart);
        sb.validate(u64::from(u32::MAX)).unwrap();
        // Metadata that cannot fit saturates, and is refused.
        let sb = Superblock::layout(1000, u32::MAX - 31, u32::MAX);
        assert_eq!(sb.datastart, u32::MAX);
        assert!(sb.validate(1000).is_err());
    }

    #[test]
    fn an_old_version_is_refused_with_advice() {
        let sb = Superblock {
            version: 1,
            ..Superblock::layout(4096, 1024, DEFAULT_NLOG)
        };
        let e = sb.validate(4096).unwrap_err().0;
        assert!(
            e.starts_with("file system version 1; this rvmsmp reads version 2: remake"),
            "{e}"
        );
        assert!(e.contains("`rvmsmp mkfs IMG DIR`") && !e.contains('\n'), "{e}");
        let sb = Superblock { version: 3, ..sb };
        assert!(sb.validate(4096).unwrap_err().0.contains("newer"));
    }

    #[test]
    fn inode_round_trips() {
        let ino = Inode {
            kind: T_FILE,
            nlink: 3,
            mode: 0o4755,
            reserved0: 0,
            uid: 1000,
            gid: 100,
            size: 123_456,
            nblocks: 31,
            reserved1: 0,
            atime_sec: -5,
            mtime_sec: 1_700_000_000,
            ctime_sec: i64::MAX,
            atime_nsec: 1,
            mtime_nsec: 999_999_999,
            ctime_nsec: 7,
            reserved2: 0,
            addrs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            indirect: 99,
            dindirect: 100,
        };
        let mut b = [0u8; INODE_SIZE];
        ino.write(&mut b);
        assert_eq!(Inode::parse(&b), ino);
        // The offsets of docs/fs-format.md.
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 0o4755);
        assert_eq!(u64_at(&b, 16), 123_456);
        assert_eq!(u32_at(&b, 24), 31);
        assert_eq!(i64_at(&b, 32), -5);
        assert_eq!(u32_at(&b, 60), 999_999_999);
        assert_eq!(u32_at(&b, 72), 1);
        assert_eq!(u32_at(&b, 116), 12);
        assert_eq!((u32_at(&b, 120), u32_at(&b, 124)), (99, 100));
        assert_eq!(MAX_FILE_BYTES, 4_299_210_752);
    }

    #[test]
    fn names() {
        assert!(valid_name(b"a"));
        assert!(valid_name(&[b'x'; NAME_MAX]));
        assert!(!valid_name(&[b'x'; NAME_MAX + 1]));
        assert!(!valid_name(b""));
        assert!(!valid_name(b"a/b"));
        let e = Dirent::parse(&Dirent::encode(7, b"hello"));
        assert_eq!((e.inum, e.name.as_slice()), (7, &b"hello"[..]));
    }
}
