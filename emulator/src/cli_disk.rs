//! The disk's part of the `rvmsmp` command (main.rs): the `--disk`
//! options of `run` and `bare`, and the `mkfs` and `fs` subcommands
//! (docs/disk.md, docs/fs-format.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Subcommand};
use rvmsmp::devices::virtio_blk::{DiskImage, VirtioBlk, DEFAULT_LATENCY};
use rvmsmp::{EmuError, Machine};

#[derive(Args)]
pub struct MkfsArgs {
    /// The image file to write (created, or overwritten)
    #[arg(value_name = "IMG")]
    image: PathBuf,

    /// The host directory whose tree the image will hold
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// Image size in MiB
    #[arg(long, default_value_t = rvmsmp::fs::mkfs::DEFAULT_SIZE_MIB, value_name = "MiB")]
    size: u64,

    /// Number of inodes, rounded up to a multiple of 32 [default: one per 16 KiB of image, at most 65536]
    #[arg(long, value_name = "N")]
    inodes: Option<u64>,
}

#[derive(Args)]
pub struct FsArgs {
    #[command(subcommand)]
    pub command: FsCommand,
}

#[derive(Subcommand)]
pub enum FsCommand {
    /// List a directory (type, inode, size and name of each entry), or show one file
    #[command(after_help = "Example: rvmsmp fs ls disk.img /bin")]
    Ls {
        #[arg(value_name = "IMG")]
        image: PathBuf,
        /// A path from the root of the file system
        #[arg(value_name = "PATH", default_value = "/")]
        path: String,
    },
    /// Copy a file out of the image to OUT ("-" for standard output)
    #[command(after_help = "Example: rvmsmp fs get disk.img /out/result.txt result.txt")]
    Get {
        #[arg(value_name = "IMG")]
        image: PathBuf,
        /// A path from the root of the file system
        #[arg(value_name = "PATH")]
        path: String,
        /// The host file to write, or - for standard output
        #[arg(value_name = "OUT")]
        out: PathBuf,
    },
    /// Check the file system's consistency (every rule in docs/fs-format.md)
    #[command(
        long_about = "Check every rule of the Consistency section of docs/fs-format.md, after applying a \
committed log in memory: the superblock's regions, that each block belongs to at most one inode and lies in \
the data region, that each inode's block count (nblocks), mode, times and reserved fields are right, that the \
bitmap marks exactly the blocks in use, that every directory entry names an inode in use and every inode in use \
is reachable from the root (but for orphans: files with no links, unlinked while open, which the kernel frees at \
its next mount), '.' and '..', and link counts. Prints each problem on a line and exits with status 1 if there \
is any; prints one summary line and exits with 0 if there is none. An image of another format version cannot be \
checked (status 2).",
        after_help = "Exit status: 0 consistent, 1 problems found, 2 the image cannot be read."
    )]
    Check {
        #[arg(value_name = "IMG")]
        image: PathBuf,
    },
}

/// Builds an image with `rvmsmp mkfs`.
pub fn run_mkfs(args: &MkfsArgs) -> Result<ExitCode, EmuError> {
    let options = rvmsmp::fs::mkfs::MkfsOptions {
        size_mib: args.size,
        inodes: args.inodes,
        ..Default::default()
    };
    let s = rvmsmp::fs::mkfs::mkfs(&args.image, &args.dir, &options).map_err(|e| EmuError::Config(e.0))?;
    println!(
        "{}: {} MiB, {} files ({} bytes) in {} directories; {} of {} data blocks and {} of {} inodes in use",
        args.image.display(),
        args.size,
        s.files,
        s.file_bytes,
        s.dirs,
        s.data_blocks,
        s.sb.nblocks,
        s.files + s.dirs,
        s.sb.ninodes
    );
    Ok(ExitCode::SUCCESS)
}

/// Status of `rvmsmp fs check` when it finds problems.
const EXIT_FS_PROBLEMS: u8 = 1;

/// Reads an image with `rvmsmp fs`.
pub fn run_fs(args: &FsArgs) -> Result<ExitCode, EmuError> {
    use rvmsmp::fs::reader::FsImage;
    let open = |image: &Path| FsImage::open(image).map_err(|e| EmuError::bad_input(image, e.0));
    match &args.command {
        FsCommand::Ls { image, path } => {
            let fs = open(image)?;
            let (inum, ino) = fs.lookup(path).map_err(|e| EmuError::bad_input(image, e.0))?;
            let line = |inum: u32, ino: &rvmsmp::fs::Inode, name: &str| {
                let slash = if ino.kind == rvmsmp::fs::T_DIR { "/" } else { "" };
                format!("{:<4} {inum:>7} {:>10} {name}{slash}", ino.type_name(), ino.size)
            };
            if ino.kind != rvmsmp::fs::T_DIR {
                let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or(path);
                println!("{}", line(inum, &ino, name));
                return Ok(ExitCode::SUCCESS);
            }
            let entries = fs
                .dir_entries(inum, &ino)
                .map_err(|e| EmuError::bad_input(image, e.0))?;
            for (_, e) in entries.iter().filter(|(_, e)| e.name != b"." && e.name != b"..") {
                match fs.inode(e.inum) {
                    Ok(child) => println!("{}", line(e.inum, &child, &e.name_lossy())),
                    Err(err) => println!("?    {:>7} {:>10} {} ({err})", e.inum, "?", e.name_lossy()),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Get { image, path, out } => {
            let fs = open(image)?;
            let (inum, ino) = fs.lookup(path).map_err(|e| EmuError::bad_input(image, e.0))?;
            if ino.kind != rvmsmp::fs::T_FILE {
                return Err(EmuError::bad_input(
                    image,
                    format!("{path}: is a directory, not a file"),
                ));
            }
            // Every block number is checked before anything is written;
            // then the contents are streamed, a run of blocks at a time.
            let blocks = fs
                .content_blocks(inum, &ino)
                .map_err(|e| EmuError::bad_input(image, format!("{path}: {e}")))?;
            let read_failed = |e: rvmsmp::fs::FsError| EmuError::bad_input(image, format!("{path}: {e}"));
            if out.as_os_str() == "-" {
                let mut file = stdout_file()?;
                let mut stdout = Noting::new(&mut *file);
                let copied = fs.copy_blocks(ino.size, &blocks, &mut stdout);
                let flushed = std::io::Write::flush(&mut stdout);
                let cannot = |e: &str| EmuError::Config(format!("cannot write to standard output: {e}"));
                if let Some(e) = &stdout.error {
                    return Err(cannot(e));
                }
                copied.map_err(read_failed)?;
                flushed.map_err(|e| cannot(&e.to_string()))?;
            } else {
                if same_file(out, image) {
                    return Err(EmuError::bad_input(
                        out,
                        "is the image being read; writing the file there would replace the image",
                    ));
                }
                let cannot = |e: &str| EmuError::bad_input(out, format!("cannot write: {e}"));
                let file = std::fs::File::create(out).map_err(|e| cannot(&e.to_string()))?;
                let mut file = Noting::new(file);
                let copied = fs.copy_blocks(ino.size, &blocks, &mut file);
                if let Some(e) = &file.error {
                    return Err(cannot(e));
                }
                copied.map_err(read_failed)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Check { image } => {
            let report = rvmsmp::fs::check::check(image).map_err(|e| EmuError::bad_input(image, e.0))?;
            for problem in &report.problems {
                println!("{}: {problem}", image.display());
            }
            println!("{}: {}", image.display(), report.summary());
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FS_PROBLEMS)
            })
        }
    }
}

/// The disk: a virtio block device backed by an image file (docs/disk.md).
#[derive(Args)]
#[command(next_help_heading = "Disk")]
pub struct DiskArgs {
    /// Attach the image file IMG as a virtio block device (virtio-mmio at 0x10001000, PLIC source 1); the
    /// guest's writes reach the file as each request completes
    #[arg(long, value_name = "IMG")]
    disk: Option<PathBuf>,

    /// Keep the guest's writes to the disk in memory: the image is opened read-only and left unchanged
    #[arg(long, requires = "disk")]
    snapshot: bool,

    /// Cycles the disk takes to serve one request (it serves them one at a time, in order)
    #[arg(long, default_value_t = DEFAULT_LATENCY, value_name = "CYCLES")]
    disk_latency: u64,
}

impl DiskArgs {
    /// Opens the image and plugs the device into the machine, before boot.
    /// `formatted`: the guest (the kernel) reads a file system from it, so
    /// an image without one is refused too.
    pub fn attach(&self, machine: &mut Machine, formatted: bool) -> Result<(), EmuError> {
        let Some(path) = &self.disk else { return Ok(()) };
        let image = DiskImage::open(path, self.snapshot)?;
        if formatted {
            rvmsmp::fs::check_formatted(path).map_err(|e| EmuError::bad_input(path, e.0))?;
        }
        machine.bus.virtio_blk = Some(VirtioBlk::new(image, self.disk_latency));
        Ok(())
    }
}

/// Says so if the driver broke the disk device during the run.
pub fn report_disk(machine: &Machine) {
    if let Some((cycle, reason)) = machine.bus.virtio_blk.as_ref().and_then(|d| d.failure.as_ref()) {
        eprintln!("rvmsmp: the disk device needed a reset after cycle {cycle}: {reason}");
    }
}

/// Whether two paths name the same existing file (device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Standard output as a file, unbuffered, refusing a closed one (Rust's
/// own stdout would count bytes written to a closed descriptor as written).
fn stdout_file() -> Result<std::mem::ManuallyDrop<std::fs::File>, EmuError> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let fd = std::io::stdout().as_raw_fd();
    // SAFETY: F_GETFD only asks whether the descriptor is open.
    if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(EmuError::Config("cannot write to standard output: it is closed".into()));
    }
    // SAFETY: the descriptor is open; ManuallyDrop leaves it open afterwards.
    Ok(std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) }))
}

/// A writer that notes its first error, so that a copy that failed can say
/// whether reading the image or writing the output went wrong.
struct Noting<W> {
    inner: W,
    error: Option<String>,
}

impl<W> Noting<W> {
    fn new(inner: W) -> Noting<W> {
        Noting { inner, error: None }
    }

    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.error.get_or_insert_with(|| e.to_string());
        }
        result
    }
}

impl<W: std::io::Write> std::io::Write for Noting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

/// Whether standard output was closed when the process started (`>&-`).
/// Rust's runtime puts /dev/null in its place before `main`, where writes
/// would vanish without an error; so it is noted earlier, by a function the
/// C runtime calls before Rust's starts.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[used]
#[link_section = ".init_array"]
static NOTE_CLOSED_STDOUT: extern "C" fn() = {
    extern "C" fn note_closed_stdout() {
        // SAFETY: F_GETFD only asks whether descriptor 1 is open.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } < 0 {
            STDOUT_CLOSED_AT_START.store(true, Ordering::Relaxed);
        }
    }
    note_closed_stdout
};
