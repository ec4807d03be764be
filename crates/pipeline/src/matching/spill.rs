//! Spill files of a bucketed session: the items of every slice
//! ([`super::partition`]), written while the input is read and read back one bucket
//! at a time, so that memory holds one bucket, not the set.
//!
//! A spill file never holds an identifier in the clear: records are sealed in
//! chunks with ChaCha20-Poly1305 under a key drawn for this run, kept only in memory
//! and wiped on drop, so the files are unreadable once the process is gone (and a
//! file altered meanwhile fails to open). The files live in a [`ScratchDir`] under
//! `--work-dir`, created 0600 in a 0700 folder, and are removed on success, failure
//! and interruption.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use blindmatch_data::output::ScratchDir;
use blindmatch_data::{Error, FailWith, Result};
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::{Zeroize, Zeroizing};

use super::partition::SLICES;

/// Plaintext bytes per sealed chunk.
const CHUNK: usize = 64 << 10;
/// AEAD tag length.
const TAG_LEN: usize = 16;
/// Longest value a record may carry (a composite rule's encoding included).
const MAX_VALUE: usize = 1 << 20;

/// One item read back from a spill: its rule, row reference and value (wiped on drop).
pub(crate) struct SpilledItem {
    /// The rule's index in priority order.
    pub(crate) rule: u8,
    /// The row reference ([`super::row_ref`]).
    pub(crate) row_ref: u64,
    /// The rule's value.
    pub(crate) value: Zeroizing<Vec<u8>>,
}

/// The spill of one run: one sealed file per slice.
pub(crate) struct Spill {
    dir: ScratchDir,
    key: Zeroizing<[u8; 32]>,
    writers: Vec<SliceWriter>,
    /// Records written per slice.
    counts: Vec<u64>,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("dir", &self.dir.path())
            .field("records", &self.counts.iter().sum::<u64>())
            .finish_non_exhaustive()
    }
}

struct SliceWriter {
    file: BufWriter<File>,
    plain: Zeroizing<Vec<u8>>,
    chunks: u64,
}

fn nonce(slice: u32, chunk: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(&slice.to_be_bytes());
    n[4..].copy_from_slice(&chunk.to_be_bytes());
    Nonce::from(n)
}

fn slice_path(dir: &Path, slice: u32) -> PathBuf {
    dir.join(format!("slice-{slice:03}.spill"))
}

fn spill_error(dir: &Path) -> impl Fn() -> Error + '_ {
    move || {
        Error::failed(format!("cannot write spill files in '{}'", dir.display()))
            .hint("--work-dir needs room for about the size of the input; check its free space")
    }
}

impl Spill {
    /// Creates the spill files in a new scratch folder inside `work_dir`.
    ///
    /// # Errors
    /// The folder or a file cannot be created, or the random generator failed.
    pub(crate) fn create(work_dir: &Path) -> Result<Spill> {
        let dir = ScratchDir::create(work_dir)?;
        let mut key = Zeroizing::new([0u8; 32]);
        SysRng
            .try_fill_bytes(&mut key[..])
            .map_err(|_| Error::failed("the operating system random number generator failed"))?;
        let mut writers = Vec::with_capacity(SLICES as usize);
        for slice in 0..SLICES {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let file = options
                .open(slice_path(dir.path(), slice))
                .fail_with(spill_error(dir.path()))?;
            writers.push(SliceWriter {
                file: BufWriter::new(file),
                plain: Zeroizing::new(Vec::with_capacity(CHUNK + 64)),
                chunks: 0,
            });
        }
        Ok(Spill {
            dir,
            key,
            writers,
            counts: vec![0; SLICES as usize],
        })
    }

    /// Appends one item to `slice`.
    ///
    /// # Errors
    /// Writing failed, or the value is over 1 MiB.
    pub(crate) fn push(&mut self, slice: u32, rule: u8, row_ref: u64, value: &[u8]) -> Result<()> {
        if value.len() > MAX_VALUE {
            return Err(Error::bad_input(format!(
                "an identifier value of {} bytes is too long to match",
                value.len()
            )));
        }
        let i = slice as usize;
        let Some(writer) = self.writers.get_mut(i) else {
            return Err(Error::failed("internal error: no such slice"));
        };
        writer.plain.push(rule);
        writer.plain.extend_from_slice(&row_ref.to_le_bytes());
        // At most MAX_VALUE, so it fits.
        writer
            .plain
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        writer.plain.extend_from_slice(value);
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        if writer.plain.len() >= CHUNK {
            seal_chunk(writer, &self.key, slice, self.dir.path())?;
        }
        Ok(())
    }

    /// Seals what is buffered and closes the files for writing.
    ///
    /// # Errors
    /// Writing failed.
    pub(crate) fn finish_writing(&mut self) -> Result<()> {
        for (slice, writer) in (0u32..).zip(self.writers.iter_mut()) {
            if !writer.plain.is_empty() {
                seal_chunk(writer, &self.key, slice, self.dir.path())?;
            }
            writer
                .file
                .flush()
                .fail_with(spill_error(self.dir.path()))?;
        }
        Ok(())
    }

    /// Records written to `slice`.
    #[cfg(test)]
    fn count(&self, slice: u32) -> u64 {
        self.counts.get(slice as usize).copied().unwrap_or(0)
    }

    /// Reads `slice` back, calling `each` for every item in the order written.
    ///
    /// # Errors
    /// The file cannot be read, or a chunk does not authenticate (the file was
    /// altered or truncated): never a partial slice.
    pub(crate) fn read_slice(
        &self,
        slice: u32,
        mut each: impl FnMut(SpilledItem) -> Result<()>,
    ) -> Result<()> {
        let path = slice_path(self.dir.path(), slice);
        let damaged = || {
            Error::failed(format!(
                "spill file '{}' is damaged or was changed during the run",
                path.display()
            ))
            .hint("keep --work-dir private to this run, and run the session again")
        };
        let file = File::open(&path).fail_with(damaged)?;
        let mut reader = BufReader::new(file);
        let cipher = ChaCha20Poly1305::new((&*self.key).into());
        let mut chunk = 0u64;
        loop {
            let mut len = [0u8; 4];
            match reader.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(_) => return Err(damaged()),
            }
            let len = u32::from_le_bytes(len) as usize;
            if !(TAG_LEN..=CHUNK + MAX_VALUE + 64).contains(&len) {
                return Err(damaged());
            }
            let mut body = Zeroizing::new(vec![0u8; len]);
            reader.read_exact(&mut body).map_err(|_| damaged())?;
            let (plain, tag) = body.split_at_mut(len - TAG_LEN);
            let tag = Tag::try_from(&tag[..]).map_err(|_| damaged())?;
            cipher
                .decrypt_inout_detached(&nonce(slice, chunk), &[], (&mut plain[..]).into(), &tag)
                .map_err(|_| damaged())?;
            chunk += 1;
            let mut rest: &[u8] = plain;
            while !rest.is_empty() {
                let (head, tail) = rest.split_at_checked(13).ok_or_else(damaged)?;
                let rule = head[0];
                let mut r = [0u8; 8];
                r.copy_from_slice(&head[1..9]);
                let mut l = [0u8; 4];
                l.copy_from_slice(&head[9..13]);
                let (value, tail) = tail
                    .split_at_checked(u32::from_le_bytes(l) as usize)
                    .ok_or_else(damaged)?;
                each(SpilledItem {
                    rule,
                    row_ref: u64::from_le_bytes(r),
                    value: Zeroizing::new(value.to_vec()),
                })?;
                rest = tail;
            }
        }
        if chunk != self.writers.get(slice as usize).map_or(0, |w| w.chunks) {
            return Err(damaged());
        }
        Ok(())
    }
}

fn seal_chunk(writer: &mut SliceWriter, key: &[u8; 32], slice: u32, dir: &Path) -> Result<()> {
    let cipher = ChaCha20Poly1305::new(key.into());
    let tag = cipher
        .encrypt_inout_detached(
            &nonce(slice, writer.chunks),
            &[],
            (&mut writer.plain[..]).into(),
        )
        .map_err(|_| Error::failed("internal error: a spill chunk is too long"))?;
    // Within CHUNK + MAX_VALUE + 13 + 16 bytes, so it fits.
    let len = (writer.plain.len() + TAG_LEN) as u32;
    let write = |file: &mut BufWriter<File>, bytes: &[u8]| {
        file.write_all(bytes).fail_with(spill_error(dir))
    };
    write(&mut writer.file, &len.to_le_bytes())?;
    write(&mut writer.file, &writer.plain)?;
    write(&mut writer.file, &tag)?;
    writer.plain.zeroize();
    writer.plain.clear();
    writer.chunks += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn items_come_back_per_slice_and_files_hold_no_value() {
        let work = tempfile::tempdir().unwrap();
        let mut spill = Spill::create(work.path()).unwrap();
        let planted = b"+8613800138000-planted";
        for i in 0..20_000u64 {
            let value = format!("+86138{i:08}-planted");
            spill
                .push((i % 3) as u32, (i % 2) as u8, i, value.as_bytes())
                .unwrap();
        }
        spill.finish_writing().unwrap();
        let mut n = 0;
        spill
            .read_slice(1, |item| {
                assert_eq!(item.row_ref % 3, 1);
                assert_eq!(item.rule as u64, item.row_ref % 2);
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, spill.count(1));
        assert_eq!(n, 6667);
        let dir = spill.dir.path().to_path_buf();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(!bytes.windows(8).any(|w| w == &planted[..8]));
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = entry.metadata().unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
        drop(spill);
        assert!(!dir.exists(), "the spill folder is removed on drop");
    }

    #[test]
    fn an_altered_file_is_an_error_not_wrong_items() {
        let work = tempfile::tempdir().unwrap();
        let mut spill = Spill::create(work.path()).unwrap();
        for i in 0..100u64 {
            spill.push(0, 0, i, b"value").unwrap();
        }
        spill.finish_writing().unwrap();
        let path = slice_path(spill.dir.path(), 0);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = spill.read_slice(0, |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(spill.read_slice(0, |_| Ok(())).is_err());
        std::fs::write(&path, b"").unwrap();
        assert!(
            spill.read_slice(0, |_| Ok(())).is_err(),
            "a dropped chunk is noticed"
        );
    }
}
