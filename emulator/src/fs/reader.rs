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
    fs_err, parse_log_header, Dirent, Inode, Result, Superblock, BSIZE, DIRENT_SIZE, INODES_PER_BLOCK, INODE_SIZE,
    MAX_FILE_BLOCKS, MAX_FILE_BYTES, NDIRECT, NINDIRECT, ROOT_INUM, SUPERBLOCK, T_DIR, T_FILE,
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

    /// The block numbers of an inode's indirect block (checked to be a data block).
    pub fn indirect_entries(&self, inum: u32, ino: &Inode) -> Result<Vec<u32>> {
        if ino.indirect == 0 {
            return Ok(vec![0; NINDIRECT]);
        }
        if !self.in_data_region(ino.indirect) {
            return Err(fs_err!(
                "inode {inum}: indirect block {} is outside the data region",
                ino.indirect
            ));
        }
        let block = self.block(ino.indirect)?;
        Ok(block
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    /// The block numbers of an inode's contents, in order, 0 for a hole,
    /// as many as its size covers.
    pub fn content_blocks(&self, inum: u32, ino: &Inode) -> Result<Vec<u32>> {
        if ino.size > MAX_FILE_BYTES {
            return Err(fs_err!(
                "inode {inum}: size {} is more than the largest file ({MAX_FILE_BYTES})",
                ino.size
            ));
        }
        let n = ino.size_blocks() as usize;
        let mut blocks: Vec<u32> = ino.addrs[..n.min(NDIRECT)].to_vec();
        if n > NDIRECT {
            blocks.extend_from_slice(&self.indirect_entries(inum, ino)?[..n - NDIRECT]);
        }
        debug_assert!(blocks.len() <= MAX_FILE_BLOCKS);
        for &b in &blocks {
            if b != 0 && !self.in_data_region(b) {
                return Err(fs_err!("inode {inum}: block {b} is outside the data region"));
            }
        }
        Ok(blocks)
    }

    /// Writes an inode's contents (`size` bytes) to `out`.
    pub fn read_to(&self, inum: u32, ino: &Inode, out: &mut dyn Write) -> Result<()> {
        let mut left = ino.size;
        for b in self.content_blocks(inum, ino)? {
            let data = if b == 0 { vec![0u8; BSIZE] } else { self.block(b)? };
            let take = left.min(BSIZE as u64) as usize;
            out.write_all(&data[..take])?;
            left -= take as u64;
        }
        Ok(())
    }

    /// An inode's contents.
    pub fn read_all(&self, inum: u32, ino: &Inode) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_to(inum, ino, &mut out)?;
        Ok(out)
    }

    /// A directory's entries, free slots included.
    pub fn dir_entries(&self, inum: u32, ino: &Inode) -> Result<Vec<Dirent>> {
        if ino.kind != T_DIR {
            return Err(fs_err!("inode {inum} is not a directory"));
        }
        let data = self.read_all(inum, ino)?;
        Ok(data.chunks_exact(DIRENT_SIZE).map(Dirent::parse).collect())
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
            let found = entries.iter().find(|e| e.inum != 0 && e.name == part.as_bytes());
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
            .map(Dirent::name_lossy)
            .collect();
        assert_eq!(names, [".", "..", "deeper", "hello.txt"]);
        assert!(fs.lookup("/nope").unwrap_err().0.contains("no such file"));
        assert!(fs.lookup("/big.bin/x").unwrap_err().0.contains("not a directory"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
