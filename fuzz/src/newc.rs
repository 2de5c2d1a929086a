//! A reader of cpio "newc" archives, written from the format's description
//! (as `cpio -H newc` writes it and Linux's initramfs reads it), so that the
//! initramfs the emulator builds is checked by a parser it does not share.
//!
//! Each entry: the magic `070701`, thirteen 8-digit hexadecimal fields
//! (ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
//! rdevmajor, rdevminor, namesize, check), the name with its NUL
//! (`namesize` bytes), padding to a multiple of 4, the data, padding to a
//! multiple of 4. The entry named `TRAILER!!!` ends the archive.

const MAGIC: &[u8] = b"070701";
const HEADER: usize = 110;
const TRAILER: &[u8] = b"TRAILER!!!";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    pub mode: u32,
    pub nlink: u32,
    pub data: Vec<u8>,
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// The entries before the trailer, or what is wrong with the archive.
/// Every byte must belong to an entry or to the padding after the trailer
/// (which must be zeros).
pub fn parse(archive: &[u8]) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let mut at = 0;
    loop {
        if at % 4 != 0 {
            return Err(format!("entry at {at} is not 4-byte aligned"));
        }
        let header = archive
            .get(at..at + HEADER)
            .ok_or_else(|| format!("archive ends inside the header at {at} (no trailer?)"))?;
        if &header[..6] != MAGIC {
            return Err(format!("bad magic at {at}"));
        }
        let field = |i: usize| -> Result<u32, String> {
            let text = &header[6 + 8 * i..14 + 8 * i];
            let text = std::str::from_utf8(text).map_err(|_| format!("field {i} at {at} is not text"))?;
            u32::from_str_radix(text, 16).map_err(|_| format!("field {i} at {at} is not hexadecimal: {text:?}"))
        };
        let mode = field(1)?;
        let nlink = field(4)?;
        let file_size = field(6)? as usize;
        let name_size = field(11)? as usize;
        if field(12)? != 0 {
            return Err(format!("non-zero check field at {at}"));
        }
        if name_size == 0 {
            return Err(format!("entry at {at} has no name (not even its NUL)"));
        }
        let name_start = at + HEADER;
        let name = archive
            .get(name_start..name_start + name_size)
            .ok_or_else(|| format!("archive ends inside the name at {name_start}"))?;
        if name[name_size - 1] != 0 {
            return Err(format!("the name at {name_start} does not end with NUL"));
        }
        let name = name[..name_size - 1].to_vec();
        let data_start = align4(name_start + name_size);
        let data = archive
            .get(data_start..data_start + file_size)
            .ok_or_else(|| format!("archive ends inside the data at {data_start}"))?
            .to_vec();
        at = align4(data_start + file_size);
        if name == TRAILER {
            if archive.len() < at || archive[at.min(archive.len())..].iter().any(|&b| b != 0) {
                return Err("bytes other than zero padding after the trailer".into());
            }
            return Ok(entries);
        }
        entries.push(Entry {
            name,
            mode,
            nlink,
            data,
        });
    }
}
