//! Reading an image without changing it: the file is opened read-only, and
//! a committed log is installed in memory (the logged blocks are read from
//! the log instead of their homes), so what is read is what the kernel
//! would see after its own recovery.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::{
    fs_err, parse_log_header, Dirent, Inode, Result, Superblock, BSIZE, DIND_FIRST, DIRENT_SIZE, INODES_PER_BLOCK,
    INODE_SIZE, MAX_FILE_BLOCKS, MAX_FILE_BYTES, NDIRECT, NINDIRECT, ROOT_INUM, SUPERBLOCK, T_DIR, T_FILE,
};

/// An open image.
pub struct FsImage {
    file: File,
    pub sb: Superblock,
    /// Whole blocks in the file.
    pub file_blocks: u64,
    /// Blocks installed from the log: home block → contents.
    installed: HashMap<u32, Vec<u8>>,
}

impl FsImage {
    /// Opens the image and checks its superblock; the log is not installed
    /// yet (see [`FsImage::install_log`]).
    pub fn open_raw(path: &Path) -> Result<FsImage> {
        let file = File::open(path).map_err(|e| fs_err!("cannot read the image: {e}"))?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(fs_err!("is a directory, not an image"));
        }
        let file_blocks = meta.len() / BSIZE as u64;
        if file_blocks < 2 {
            return Err(fs_err!(
                "is too small for a file system ({} bytes; the superblock alone ends at {} bytes)",
                meta.len(),
                2 * BSIZE
            ));
        }
        let mut block = vec![0u8; BSIZE];
        file.read_exact_at(&mut block, u64::from(SUPERBLOCK) * BSIZE as u64)?;
        let sb = Superblock::parse(&block);
        sb.validate(file_blocks)?;
        Ok(FsImage {
            file,
            sb,
            file_blocks,
            installed: HashMap::new(),
        })
    }

    /// Opens the image and installs a committed log in memory.
    pub fn open(path: &Path) -> Result<FsImage> {
        let mut image = FsImage::open_raw(path)?;
        image.install_log()?;
        Ok(image)
    }

    /// The log header: `n` and the home block numbers, checked.
    pub fn log_header(&self) -> Result<Vec<u32>> {
        let header = self.read_raw(self.sb.logstart)?;
        let (n, homes) = parse_log_header(&header);
        if n > self.sb.nlog - 1 {
            return Err(fs_err!(
                "log header: {n} blocks committed, but the log holds at most {}",
                self.sb.nlog - 1
            ));
        }
        for (i, &home) in homes.iter().enumerate() {
            if home < self.sb.inodestart || home >= self.sb.size {
                return Err(fs_err!(
                    "log header: entry {i} names block {home}, outside the inode table, bitmap and data ({}..{})",
                    self.sb.inodestart,
                    self.sb.size
                ));
            }
        }
        Ok(homes)
    }

    /// Installs a committed log in memory; returns how many blocks it held.
    pub fn install_log(&mut self) -> Result<usize> {
        let homes = self.log_header()?;
        let mut installed = HashMap::new();
        for (i, &home) in homes.iter().enumerate() {
            let data = self.read_raw(self.sb.logstart + 1 + i as u32)?;
            installed.insert(home, data);
        }
        self.installed = installed;
        Ok(homes.len())
    }

    /// A block as stored in the file, ignoring the log.
    fn read_raw(&self, b: u32) -> Result<Vec<u8>> {
        if u64::from(b) >= self.file_blocks.min(u64::from(self.sb.size)) {
            return Err(fs_err!("block {b} is past the end of the image"));
        }
        let mut block = vec![0u8; BSIZE];
        self.file
            .read_exact_at(&mut block, u64::from(b) * BSIZE as u64)
            .map_err(|e| fs_err!("block {b}: {e}"))?;
        Ok(block)
    }

    /// A block as the file system sees it (after the log).
    pub fn block(&self, b: u32) -> Result<Vec<u8>> {
        match self.installed.get(&b) {
            Some(data) => Ok(data.clone()),
            None => self.read_raw(b),
        }
    }

    pub fn inode(&self, inum: u32) -> Result<Inode> {
        if inum >= self.sb.ninodes {
            return Err(fs_err!("inode {inum} does not exist (there are {})", self.sb.ninodes));
        }
        let block = self.block(self.sb.inodestart + inum / INODES_PER_BLOCK as u32)?;
        let off = (inum as usize % INODES_PER_BLOCK) * INODE_SIZE;
        Ok(Inode::parse(&block[off..off + INODE_SIZE]))
    }

    /// Whether `b` is a data block.
    pub fn in_data_region(&self, b: u32) -> bool {
        b >= self.sb.datastart && b < self.sb.size
    }

    /// The block numbers in an index block (indirect, double-indirect or
    /// second-level) of inode `inum`; `what` names it in errors. The block
    /// is checked to be a data block first.
    pub fn index_entries(&self, inum: u32, what: &str, b: u32) -> Result<Vec<u32>> {
        if !self.in_data_region(b) {
            return Err(fs_err!("inode {inum}: {what} {b} is outside the data region"));
        }
        let block = self.block(b)?;
        Ok(block
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    /// The block numbers of an inode's contents, in order, 0 for a hole,
    /// as many as its size covers; every one checked to be 0 or a data block.
    pub fn content_blocks(&self, inum: u32, ino: &Inode) -> Result<Vec<u32>> {
        if ino.size > MAX_FILE_BYTES {
            return Err(fs_err!(
                "inode {inum}: size {} is more than the largest file ({MAX_FILE_BYTES})",
                ino.size
            ));
        }
        let n = ino.size_blocks() as usize;
        let mut blocks: Vec<u32> = Vec::with_capacity(n);
        blocks.extend_from_slice(&ino.addrs[..n.min(NDIRECT)]);
        if n > NDIRECT {
            let want = n.min(DIND_FIRST) - NDIRECT;
            if ino.indirect == 0 {
                blocks.resize(blocks.len() + want, 0);
            } else {
                blocks.extend_from_slice(&self.index_entries(inum, "indirect block", ino.indirect)?[..want]);
            }
        }
        if n > DIND_FIRST {
            let rest = n - DIND_FIRST;
            if ino.dindirect == 0 {
                blocks.resize(n, 0);
            } else {
                let second = self.index_entries(inum, "double-indirect block", ino.dindirect)?;
                for (j, &b) in second.iter().enumerate().take(rest.div_ceil(NINDIRECT)) {
                    let want = (rest - j * NINDIRECT).min(NINDIRECT);
                    if b == 0 {
                        blocks.resize(blocks.len() + want, 0);
                    } else {
                        let what = format!("second-level block {j}");
                        blocks.extend_from_slice(&self.index_entries(inum, &what, b)?[..want]);
                    }
                }
            }
        }
        debug_assert!(blocks.len() == n && n <= MAX_FILE_BLOCKS);
        for &b in &blocks {
            if b != 0 && !self.in_data_region(b) {
                return Err(fs_err!("inode {inum}: block {b} is outside the data region"));
            }
        }
        Ok(blocks)
    }

    /// Writes the first `size` bytes of the contents that `blocks` (from
    /// [`FsImage::content_blocks`]) map to `out`, streaming: runs of
    /// consecutive blocks are read with one call, up to 1 MiB at a time,
    /// and holes are written as zeros.
    pub fn copy_blocks(&self, size: u64, blocks: &[u32], out: &mut dyn Write) -> Result<()> {
        const CHUNK_BLOCKS: usize = 256;
        let mut buf = vec![0u8; CHUNK_BLOCKS * BSIZE];
        let mut left = size;
        let mut i = 0;
        while i < blocks.len() && left > 0 {
            let first = blocks[i];
            let mut j = i + 1;
            if first == 0 {
                while j < blocks.len() && j - i < CHUNK_BLOCKS && blocks[j] == 0 {
                    j += 1;
                }
                buf[..(j - i) * BSIZE].fill(0);
            } else if let Some(data) = self.installed.get(&first) {
                buf[..BSIZE].copy_from_slice(data);
            } else {
                let next = |k: usize| first.checked_add((k - i) as u32);
                while j < blocks.len()
                    && j - i < CHUNK_BLOCKS
                    && Some(blocks[j]) == next(j)
                    && !self.installed.contains_key(&blocks[j])
                {
                    j += 1;
                }
                let run = &mut buf[..(j - i) * BSIZE];
                self.file
                    .read_exact_at(run, u64::from(first) * BSIZE as u64)
                    .map_err(|e| fs_err!("blocks {first}..{}: {e}", u64::from(first) + (j - i) as u64))?;
            }
            let take = (((j - i) * BSIZE) as u64).min(left) as usize;
            out.write_all(&buf[..take])?;
            left -= take as u64;
            i = j;
        }
        Ok(())
    }

    /// Writes an inode's contents (`size` bytes) to `out`. Its block
    /// numbers are all checked before anything is written.
    pub fn read_to(&self, inum: u32, ino: &Inode, out: &mut dyn Write) -> Result<()> {
        let blocks = self.content_blocks(inum, ino)?;
        self.copy_blocks(ino.size, &blocks, out)
    }

    /// An inode's contents.
    pub fn read_all(&self, inum: u32, ino: &Inode) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_to(inum, ino, &mut out)?;
        Ok(out)
    }

    /// A directory's entries in use (`inum` not 0), each with its slot
    /// number (0 is `.`, 1 is `..`). Holes hold only free slots, so they
    /// are skipped without being read.
    pub fn dir_entries(&self, inum: u32, ino: &Inode) -> Result<Vec<(u64, Dirent)>> {
        if ino.kind != T_DIR {
            return Err(fs_err!("inode {inum} is not a directory"));
        }
        let per_block = (BSIZE / DIRENT_SIZE) as u64;
        let mut entries = Vec::new();
        for (k, &b) in self.content_blocks(inum, ino)?.iter().enumerate() {
            if b == 0 {
                continue;
            }
            let data = self.block(b)?;
            let start = k as u64 * BSIZE as u64;
            let len = (ino.size - start).min(BSIZE as u64) as usize;
            for (i, raw) in data[..len].chunks_exact(DIRENT_SIZE).enumerate() {
                let e = Dirent::parse(raw);
                if e.inum != 0 {
                    entries.push((k as u64 * per_block + i as u64, e));
                }
            }
        }
        Ok(entries)
    }

    /// Finds a path from the root: `/a/b`, `a/b`, `/` and `.` all work.
    pub fn lookup(&self, path: &str) -> Result<(u32, Inode)> {
        let mut inum = ROOT_INUM;
        let mut ino = self.inode(inum)?;
        if ino.kind != T_DIR {
            return Err(fs_err!("the root (inode 1) is not a directory"));
        }
        let mut walked = String::new();
        for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
            if ino.kind != T_DIR {
                return Err(fs_err!("{walked}: not a directory"));
            }
            let entries = self.dir_entries(inum, &ino)?;
            walked.push('/');
            walked.push_str(part);
            let found = entries.iter().map(|(_, e)| e).find(|e| e.name == part.as_bytes());
            let Some(entry) = found else {
                return Err(fs_err!("{walked}: no such file or directory"));
            };
            inum = entry.inum;
            ino = self.inode(inum)?;
            if ino.kind != T_DIR && ino.kind != T_FILE {
                return Err(fs_err!(
                    "{walked}: names inode {inum}, which is not in use (type {})",
                    ino.kind
                ));
            }
        }
        Ok((inum, ino))
    }
}

#[cfg(test)]
mod tests {
    use super::super::mkfs::{mkfs, MkfsOptions};
    use super::*;

    #[test]
    fn reads_back_what_mkfs_wrote() {
        let dir = crate::fs::check::tests::scratch("reader");
        let tree = dir.join("tree");
        std::fs::create_dir_all(tree.join("sub/deeper")).unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 4096) as u8).collect();
        std::fs::write(tree.join("big.bin"), &big).unwrap();
        std::fs::write(tree.join("sub/hello.txt"), b"hello\n").unwrap();
        std::fs::write(tree.join("sub/deeper/empty"), b"").unwrap();
        let img = dir.join("fs.img");
        let summary = mkfs(&img, &tree, &MkfsOptions::default()).unwrap();
        assert_eq!((summary.files, summary.dirs), (3, 3));
        assert_eq!(std::fs::metadata(&img).unwrap().len(), 16 << 20);

        let fs = FsImage::open(&img).unwrap();
        let (inum, ino) = fs.lookup("/big.bin").unwrap();
        assert_eq!(fs.read_all(inum, &ino).unwrap(), big);
        let (inum, ino) = fs.lookup("sub/hello.txt").unwrap();
        assert_eq!(fs.read_all(inum, &ino).unwrap(), b"hello\n");
        let (_, ino) = fs.lookup("/sub/deeper/empty").unwrap();
        assert_eq!((ino.kind, ino.size), (T_FILE, 0));
        let (inum, ino) = fs.lookup("/sub").unwrap();
        let names: Vec<String> = fs
            .dir_entries(inum, &ino)
            .unwrap()
            .iter()
            .map(|(_, e)| e.name_lossy())
            .collect();
        assert_eq!(names, [".", "..", "deeper", "hello.txt"]);
        assert!(fs.lookup("/nope").unwrap_err().0.contains("no such file"));
        assert!(fs.lookup("/big.bin/x").unwrap_err().0.contains("not a directory"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
