//! Logging set-up for every role: readable text or JSON, `RUST_LOG` filtering, and an optional
//! size-rotated file `<dir>/<role>/output.log`.
//!
//! Rotation is by size, like the Webots servers' `RotatingFileHandler`, because a busy simulation
//! server fills a day-based file long before midnight. Writes go through a background thread
//! (`tracing_appender::non_blocking`) so request handlers never wait on the disk.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use super::limits;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Keeps the background log writer alive; dropping it flushes what is queued.
pub struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// Installs the global subscriber. `RUST_LOG` overrides the default `info` level.
///
/// # Errors
/// Fails when the log directory cannot be created or the file opened, naming the path.
pub fn init(role: &str, format: LogFormat, log_dir: Option<&Path>) -> io::Result<LogGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = match log_dir {
        Some(dir) => {
            let file = RotatingFile::open(
                dir.join(role).join("output.log"),
                limits::LOG_FILE_MAX_BYTES,
                limits::LOG_FILE_BACKUPS,
            )?;
            let (writer, guard) = tracing_appender::non_blocking(file);
            (writer, Some(guard))
        }
        None => {
            let (writer, guard) = tracing_appender::non_blocking(io::stderr());
            (writer, Some(guard))
        }
    };
    let ansi = log_dir.is_none() && std::io::IsTerminal::is_terminal(&io::stderr());
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init` fails only when a subscriber is already installed (tests starting several roles);
    // the first one stays, which is what those tests want.
    let _ = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(writer).with_ansi(ansi))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(writer),
            )
            .try_init(),
    };
    Ok(LogGuard(guard))
}

/// Whether logs can be written under `dir` without creating or writing anything now (for
/// `--check-config`): `dir`, or where it would be created, must be a directory this process may
/// write to.
///
/// # Errors
/// A message naming the path at fault and why.
pub fn check_log_dir(dir: &Path) -> Result<(), String> {
    let existing = dir
        .ancestors()
        .find(|at| at.symlink_metadata().is_ok())
        .unwrap_or(Path::new("/"));
    if !existing.is_dir() {
        return Err(format!(
            "logDir {}: {} is not a directory",
            dir.display(),
            existing.display()
        ));
    }
    let flags = nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK;
    nix::unistd::access(existing, flags).map_err(|e| {
        format!(
            "logDir {}: {} is not writable by this user ({e})",
            dir.display(),
            existing.display()
        )
    })
}

/// A log file that is renamed to `.1` (shifting older ones up to `.N`) once it exceeds `max_bytes`.
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
    backups: usize,
    /// Written at the top of every new file (a CSV's column names), so each file reads alone.
    header: Vec<u8>,
}

impl RotatingFile {
    /// Opens (appending to) `path`, creating its directory.
    ///
    /// # Errors
    /// I/O errors from creating the directory or opening the file, naming the path.
    pub fn open(path: PathBuf, max_bytes: u64, backups: usize) -> io::Result<Self> {
        let naming = |what: &str, at: &Path| {
            let at = at.display().to_string();
            let what = what.to_owned();
            move |e: io::Error| io::Error::new(e.kind(), format!("cannot {what} {at}: {e}"))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(naming("create the log directory", dir))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(naming("open the log file", &path))?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            file,
            written,
            max_bytes,
            backups,
            header: Vec::new(),
        })
    }

    /// Gives every new file `header` first, this one included when it is empty.
    ///
    /// # Errors
    /// I/O errors from writing the header.
    pub fn with_header(mut self, header: &[u8]) -> io::Result<Self> {
        header.clone_into(&mut self.header);
        if self.written == 0 {
            self.write_header()?;
        }
        Ok(self)
    }

    fn write_header(&mut self) -> io::Result<()> {
        self.file.write_all(&self.header)?;
        self.written = self.header.len() as u64;
        Ok(())
    }

    fn backup_path(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.backups == 0 {
            self.file = File::create(&self.path)?;
        } else {
            for n in (1..self.backups).rev() {
                let from = self.backup_path(n);
                if from.exists() {
                    std::fs::rename(&from, self.backup_path(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.backup_path(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        self.write_header()
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let empty = self.written <= self.header.len() as u64;
        if !empty && self.written + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_the_configured_backups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session").join("output.log");
        let mut file = RotatingFile::open(path.clone(), 100, 3).unwrap();
        for i in 0..20 {
            writeln!(file, "line {i:03} {}", "x".repeat(40)).unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
        for n in 1..=3 {
            assert!(
                dir.path().join(format!("session/output.log.{n}")).exists(),
                "backup {n}"
            );
        }
        assert!(!dir.path().join("session/output.log.4").exists());
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.contains("line 019"));
    }

    #[test]
    fn every_file_starts_with_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("monitor.csv");
        let mut file = RotatingFile::open(path.clone(), 60, 2)
            .unwrap()
            .with_header(b"a, b\n")
            .unwrap();
        for i in 0..10 {
            file.write_all(format!("{i:02}, {}\n", "x".repeat(20)).as_bytes())
                .unwrap();
        }
        for name in ["monitor.csv", "monitor.csv.1", "monitor.csv.2"] {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(text.starts_with("a, b\n0"), "{name}: {text}");
        }
        assert!(!dir.path().join("monitor.csv.3").exists());
    }
}
