//! A store in a directory of the local filesystem.

use std::fs::{self, File};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use zarr_proto::ByteRange;

use zarr_proto::StoreKind;

use super::{
    dir_prefix, split_dir, BoxFuture, Condition, ListDir, Store, StoreError, StoreResult, Version, Versioned,
    WriteResult,
};

/// Prefix of the temporary files that [`FsStore::set`](Store::set) renames into
/// place; listings skip them and keys may not use it.
const TMP_PREFIX: &str = ".zarr-tmp-";

/// A store that maps keys to files under a root directory.
///
/// File operations run on the `blocking` thread pool, so they never stall the
/// executor. Keys are checked before they touch the filesystem: no `..` or `.`
/// segments, no leading `/`, no empty segments, no backslashes or NUL bytes, so
/// a key can never name a file outside the root. Writes are atomic: the value is
/// written to a temporary file in the same directory and renamed over the key,
/// so a reader sees the old value or the new one, never a mix. A writer killed
/// between the two leaves its temporary file (`.zarr-tmp-<pid>-<n>-<random>`) behind:
/// garbage, never data. Listings skip such names, keys cannot take them, and no
/// write reuses one; nothing removes them automatically (a live writer's temp file
/// looks the same), so delete them when no writer runs (tests/interop/crash.py kills
/// `zarr put` at random and checks all this). Durability across a
/// power loss is a choice ([`FsStore::with_fsync`]): off by default, as in
/// zarr-python, because an fsync per chunk costs milliseconds on most disks.
///
/// # Versions and conditional writes
///
/// A value's [`Version`] is its length and the XXH3-128 hash of its bytes, so two
/// versions are equal exactly when the contents are (up to a 2^-128 accident). Not
/// the file's (inode, size, mtime): every write makes a new file (temp + rename) whose
/// inode number the filesystem may hand out again once the old file is gone, and
/// ext4's and tmpfs' mtime comes from a clock that ticks every few milliseconds, so a
/// key written twice within one tick, to the same size, could show a version it had
/// before, and a writer holding that old version would overwrite the newer value.
/// A content hash cannot repeat unless the content does, and then a write based on
/// it is still correct. It also sees in-place changes by other programs. The cost: a
/// versioned read hashes what it reads (the whole file for a ranged read, streamed),
/// and a put with [`Condition::Matches`] reads and hashes the current file; XXH3
/// runs at many GB/s, well above disk speed.
///
/// The check and the rename of a conditional write happen under an exclusive
/// `flock(2)` on the key's directory, which every write of this store (of any
/// process) takes, so no write lands between the check and the rename. Readers take
/// no lock: a rename replaces the file whole, and a reader hashes the very bytes it
/// returns. Programs that write without the lock (zarr-python) are not excluded.
/// Unix only; elsewhere conditions are refused with [`StoreError::Unsupported`]. On a
/// filesystem without `flock` on directories (some NFS setups) a conditional write
/// fails with [`StoreError::Io`]; an unconditional one goes ahead without the lock.
///
/// # Examples
///
/// ```
/// use zarr_store::{FsStore, Store};
/// # let dir = std::env::temp_dir().join(format!("zarr-smol-doc-{}", std::process::id()));
/// # futures_lite::future::block_on(async {
/// let store = FsStore::new(&dir);
/// store.set("a/c/0", vec![1u8, 2, 3].into()).await?;
/// assert_eq!(store.get("a/c/0", None).await?.as_deref(), Some(&[1u8, 2, 3][..]));
/// assert!(store.get("../etc/passwd", None).await.is_err());
/// # Ok::<(), zarr_store::StoreError>(())
/// # }).unwrap();
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FsStore {
    root: Arc<PathBuf>,
    fsync: bool,
}

impl FsStore {
    /// A store rooted at `root`. The directory is created on the first write.
    pub fn new(root: impl Into<PathBuf>) -> FsStore {
        FsStore { root: Arc::new(root.into()), fsync: false }
    }

    /// The same store, flushing each written value (and its directory entry) to the
    /// disk before a write completes when `fsync` is true, so it survives a power loss.
    #[must_use]
    pub fn with_fsync(mut self, fsync: bool) -> FsStore {
        self.fsync = fsync;
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `key` under the root, after checking the key.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidKey`] for a key that could escape the root or is malformed.
    pub fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        validate_key(key)?;
        let mut p = PathBuf::from(self.root.as_path());
        p.extend(key.split('/'));
        Ok(p)
    }
}

/// Checks that `key` is a relative, `/`-separated path with no way out of the root
/// ([`zarr_proto::key::problem`]), and not one of this store's temporary files.
pub(crate) fn validate_key(key: &str) -> StoreResult<()> {
    let reason = zarr_proto::key::problem(key).or_else(|| {
        key.split('/').find_map(|seg| match seg {
            s if s.starts_with(TMP_PREFIX) => Some("reserved temporary-file name"),
            // A drive prefix such as `C:` would make the path absolute on Windows.
            s if cfg!(windows) && s.contains(':') => Some("`:` in key"),
            _ => None,
        })
    });
    reason.map_or(Ok(()), |reason| Err(StoreError::InvalidKey { key: key.to_owned(), reason }))
}

/// True for errors that mean "no value at this key".
fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory)
}

fn read_value(path: &Path, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
    Ok(read_with_len(path, key, range)?.map(|(_, b)| b))
}

/// The version of a value: its length and the XXH3-128 hash of its bytes.
fn content_version(len: u64, hash: u128) -> Version {
    Version::new(format!("{len:x}-{hash:032x}"))
}

/// The version of `value`, as [`read_versioned`] would report it.
fn version_of(value: &[u8]) -> Version {
    content_version(value.len() as u64, twox_hash::XxHash3_128::oneshot(value))
}

/// Reads `range` of the file at `path` (checked by the caller), with the file's length
/// and the version of its whole content (the file is read whole to hash it, the
/// bytes outside the range streamed through the hasher only).
pub(crate) fn read_versioned(
    path: &Path,
    key: &str,
    range: Option<ByteRange>,
) -> StoreResult<Option<(u64, Bytes, Version)>> {
    let io_err = |e| StoreError::io(key, e);
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Ok(None);
    }
    let len = meta.len();
    let span = match range {
        None => 0..len,
        Some(r) => r.resolve(len).ok_or(StoreError::RangeNotSatisfiable { key: key.into(), range: r, len })?,
    };
    let too_large = || StoreError::TooLarge { key: key.into(), limit: usize::MAX as u64 };
    let mut out = Vec::with_capacity(usize::try_from(span.end - span.start).map_err(|_| too_large())?);
    let mut hasher = twox_hash::XxHash3_128::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        let chunk = &buf[..n];
        hasher.write(chunk);
        let (start, end) = (pos, pos + n as u64);
        if end > span.start && start < span.end {
            // Both offsets are within this chunk of at most 64 KiB.
            let from = (span.start.max(start) - start) as usize;
            let to = (span.end.min(end) - start) as usize;
            out.extend_from_slice(&chunk[from..to]);
        }
        pos = end;
    }
    if pos != len {
        // Changed in place between metadata() and the read: report it, never return a mix.
        let e = io::Error::new(ErrorKind::UnexpectedEof, format!("read {pos} of {len} bytes"));
        return Err(io_err(e));
    }
    Ok(Some((len, Bytes::from(out), content_version(len, hasher.finish_128()))))
}

/// An exclusive `flock` on a directory, released when dropped (the descriptor closes).
#[cfg(unix)]
struct DirLock(#[allow(dead_code)] File);

#[cfg(unix)]
fn lock_dir(dir: &Path) -> io::Result<DirLock> {
    let f = File::open(dir)?;
    loop {
        match rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => return Ok(DirLock(f)),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Takes the directory lock: required for a condition, best effort without one.
#[cfg(unix)]
fn lock_for(dir: &Path, key: &str, condition: &Condition) -> StoreResult<Option<DirLock>> {
    match lock_dir(dir) {
        Ok(l) => Ok(Some(l)),
        Err(_) if *condition == Condition::Always => Ok(None),
        Err(e) => {
            let e = io::Error::new(e.kind(), format!("cannot lock {} for a conditional write: {e}", dir.display()));
            Err(StoreError::io(key, e))
        }
    }
}

#[cfg(not(unix))]
fn lock_for(_dir: &Path, key: &str, condition: &Condition) -> StoreResult<Option<()>> {
    match condition {
        Condition::Always => Ok(None),
        _ => Err(StoreError::unsupported(key, "conditional writes (no flock on this platform)", "FsStore")),
    }
}

/// Whether `condition` holds for the file at `path` now (the caller holds the lock).
fn holds(path: &Path, key: &str, condition: &Condition) -> StoreResult<bool> {
    match condition {
        Condition::Always => Ok(true),
        Condition::Absent => match fs::metadata(path) {
            Ok(m) => Ok(m.is_dir()),
            Err(e) if is_missing(&e) => Ok(true),
            Err(e) => Err(StoreError::io(key, e)),
        },
        Condition::Matches(want) => {
            Ok(read_versioned(path, key, Some(ByteRange::new(0, 0)))?.is_some_and(|(_, _, v)| v == *want))
        }
    }
}

/// Reads `range` of the file at `path` (checked by the caller), with the file's length.
pub(crate) fn read_with_len(path: &Path, key: &str, range: Option<ByteRange>) -> StoreResult<Option<(u64, Bytes)>> {
    let io_err = |e| StoreError::io(key, e);
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Ok(None);
    }
    let len = meta.len();
    let (start, end) = match range {
        None => (0, len),
        Some(r) => {
            let span = r.resolve(len).ok_or(StoreError::RangeNotSatisfiable { key: key.into(), range: r, len })?;
            (span.start, span.end)
        }
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start)).map_err(io_err)?;
    }
    let want = end - start;
    let cap = usize::try_from(want).map_err(|_| StoreError::TooLarge { key: key.into(), limit: usize::MAX as u64 })?;
    let mut buf = Vec::with_capacity(cap);
    file.take(want).read_to_end(&mut buf).map_err(io_err)?;
    if buf.len() as u64 != want {
        // The file shrank between metadata() and read: report it, never return short data.
        let e = io::Error::new(ErrorKind::UnexpectedEof, format!("read {} of {want} bytes", buf.len()));
        return Err(io_err(e));
    }
    Ok(Some((len, Bytes::from(buf))))
}

/// The directory of a key's file.
fn parent_dir<'a>(path: &'a Path, key: &str) -> StoreResult<&'a Path> {
    path.parent().ok_or_else(|| StoreError::io(key, io::Error::new(ErrorKind::InvalidInput, "no parent directory")))
}

/// Writes `value` to the file at `path` atomically (temp file + rename) if `condition`
/// holds, checked under the directory lock.
fn write_atomic(path: &Path, key: &str, value: &[u8], fsync: bool, condition: &Condition) -> StoreResult<WriteResult> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io_err = |e| StoreError::io(key, e);
    let dir = parent_dir(path, key)?;
    fs::create_dir_all(dir).map_err(io_err)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{TMP_PREFIX}{}-{n}-{:016x}", std::process::id(), fastrand::u64(..)));
    // The slow part, writing the bytes, happens before the lock is taken.
    let written = (|| {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(value)?;
        if fsync {
            f.sync_data()?;
        }
        Ok(())
    })();
    let result = written.map_err(io_err).and_then(|()| {
        let _lock = lock_for(dir, key, condition)?;
        if !holds(path, key, condition)? {
            return Ok(WriteResult::ConditionFailed);
        }
        fs::rename(&tmp, path).map_err(io_err)?;
        if fsync {
            // The rename is durable only once the directory entry is.
            File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
        }
        Ok(WriteResult::Stored(Some(version_of(value))))
    });
    if !matches!(result, Ok(WriteResult::Stored(_))) {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes the file at `path` if `condition` holds, checked under the directory lock.
fn remove(path: &Path, key: &str, fsync: bool, condition: &Condition) -> StoreResult<WriteResult> {
    let dir = parent_dir(path, key)?;
    let missing = WriteResult::Stored(None);
    if !dir.is_dir() {
        // No directory, no value.
        return Ok(if matches!(condition, Condition::Matches(_)) { WriteResult::ConditionFailed } else { missing });
    }
    let _lock = lock_for(dir, key, condition)?;
    if !holds(path, key, condition)? {
        return Ok(WriteResult::ConditionFailed);
    }
    match fs::remove_file(path) {
        Err(e) if !is_missing(&e) => return Err(StoreError::io(key, e)),
        Err(_) => return Ok(missing),
        Ok(()) => {}
    }
    if fsync {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StoreError::io(key, e))?;
    }
    Ok(missing)
}

/// Every key under `dir` (which is the path of `prefix_key`, `""` for the root).
fn walk(dir: &Path, prefix_key: &str, out: &mut Vec<String>, key: &str) -> StoreResult<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if is_missing(&e) => return Ok(()),
        Err(e) => return Err(StoreError::io(key, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(key, e))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        if name.starts_with(TMP_PREFIX) {
            continue;
        }
        let child = format!("{prefix_key}{name}");
        let ft = entry.file_type().map_err(|e| StoreError::io(&child, e))?;
        if ft.is_dir() {
            walk(&entry.path(), &format!("{child}/"), out, key)?;
        } else {
            out.push(child);
        }
    }
    Ok(())
}

/// The deepest directory key that contains every key starting with `prefix`.
fn base_dir(prefix: &str) -> &str {
    match prefix.rfind('/') {
        Some(i) => &prefix[..=i],
        None => "",
    }
}

impl FsStore {
    fn get_now(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
        read_value(&self.path_of(key)?, key, range)
    }

    fn get_versioned_now(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Versioned>> {
        Ok(read_versioned(&self.path_of(key)?, key, range)?.map(|(_, b, v)| (b, Some(v))))
    }

    fn put_now(&self, key: &str, value: &[u8], condition: &Condition) -> StoreResult<WriteResult> {
        write_atomic(&self.path_of(key)?, key, value, self.fsync, condition)
    }

    fn delete_if_now(&self, key: &str, condition: &Condition) -> StoreResult<WriteResult> {
        remove(&self.path_of(key)?, key, self.fsync, condition)
    }

    fn size_now(&self, key: &str) -> StoreResult<Option<u64>> {
        match fs::metadata(self.path_of(key)?) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(StoreError::io(key, e)),
        }
    }

    fn list_now(&self, prefix: &str) -> StoreResult<Vec<String>> {
        let base = base_dir(prefix);
        if !base.is_empty() {
            validate_key(base.trim_end_matches('/'))?;
        }
        let mut dir = self.root.to_path_buf();
        dir.extend(base.split('/').filter(|s| !s.is_empty()));
        let mut keys = Vec::new();
        walk(&dir, base, &mut keys, prefix)?;
        keys.retain(|k| k.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    fn list_dir_now(&self, prefix: &str) -> StoreResult<ListDir> {
        let prefix = dir_prefix(prefix);
        if !prefix.is_empty() {
            validate_key(prefix.trim_end_matches('/'))?;
        }
        let prefix = prefix.as_str();
        let mut dir = self.root.to_path_buf();
        dir.extend(prefix.split('/').filter(|s| !s.is_empty()));
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if is_missing(&e) => return Ok(ListDir::default()),
            Err(e) => return Err(StoreError::io(prefix, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(prefix, e))?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            if name.starts_with(TMP_PREFIX) {
                continue;
            }
            let is_dir = entry.file_type().map_err(|e| StoreError::io(prefix, e))?.is_dir();
            // A directory shows up as "name/", which split_dir turns into a prefix.
            names.push(if is_dir { format!("{prefix}{name}/x") } else { format!("{prefix}{name}") });
        }
        names.sort();
        Ok(split_dir(prefix, names.iter().map(String::as_str)))
    }

    /// Runs `f` on the `blocking` thread pool, so file IO never stalls an executor.
    fn spawn<T: Send + 'static>(
        &self,
        key: &str,
        f: impl FnOnce(&FsStore, &str) -> StoreResult<T> + Send + 'static,
    ) -> BoxFuture<'static, StoreResult<T>> {
        let store = self.clone();
        let key = key.to_owned();
        Box::pin(blocking::unblock(move || f(&store, &key)))
    }
}

impl Store for FsStore {
    fn get(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Bytes>>> {
        self.spawn(key, move |s, key| s.get_now(key, range))
    }

    fn set(&self, key: &str, value: Bytes) -> BoxFuture<'static, StoreResult<()>> {
        self.spawn(key, move |s, key| s.put_now(key, &value, &Condition::Always).map(|_| ()))
    }

    fn delete(&self, key: &str) -> BoxFuture<'static, StoreResult<()>> {
        self.spawn(key, |s, key| s.delete_if_now(key, &Condition::Always).map(|_| ()))
    }

    fn get_versioned(&self, key: &str, range: Option<ByteRange>) -> BoxFuture<'static, StoreResult<Option<Versioned>>> {
        self.spawn(key, move |s, key| s.get_versioned_now(key, range))
    }

    fn put(&self, key: &str, value: Bytes, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        self.spawn(key, move |s, key| s.put_now(key, &value, &condition))
    }

    fn delete_if(&self, key: &str, condition: Condition) -> BoxFuture<'static, StoreResult<WriteResult>> {
        self.spawn(key, move |s, key| s.delete_if_now(key, &condition))
    }

    fn supports_conditional_writes(&self) -> bool {
        cfg!(unix)
    }

    fn get_versioned_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Versioned>> {
        self.get_versioned_now(key, range)
    }

    fn put_blocking(&self, key: &str, value: Bytes, condition: Condition) -> StoreResult<WriteResult> {
        self.put_now(key, &value, &condition)
    }

    fn delete_if_blocking(&self, key: &str, condition: Condition) -> StoreResult<WriteResult> {
        self.delete_if_now(key, &condition)
    }

    fn list(&self, prefix: &str) -> BoxFuture<'static, StoreResult<Vec<String>>> {
        self.spawn(prefix, FsStore::list_now)
    }

    fn list_dir(&self, prefix: &str) -> BoxFuture<'static, StoreResult<ListDir>> {
        self.spawn(prefix, FsStore::list_dir_now)
    }

    fn size(&self, key: &str) -> BoxFuture<'static, StoreResult<Option<u64>>> {
        self.spawn(key, FsStore::size_now)
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Local
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn size_blocking(&self, key: &str) -> StoreResult<Option<u64>> {
        self.size_now(key)
    }

    // The blocking driver's IO threads may block: read and write right here
    // instead of hopping to the `blocking` pool and back.
    fn get_blocking(&self, key: &str, range: Option<ByteRange>) -> StoreResult<Option<Bytes>> {
        self.get_now(key, range)
    }

    fn set_blocking(&self, key: &str, value: Bytes) -> StoreResult<()> {
        self.put_now(key, &value, &Condition::Always).map(|_| ())
    }

    fn delete_blocking(&self, key: &str) -> StoreResult<()> {
        self.delete_if_now(key, &Condition::Always).map(|_| ())
    }

    fn list_dir_blocking(&self, prefix: &str) -> StoreResult<ListDir> {
        self.list_dir_now(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_validation() {
        for ok in ["zarr.json", "a/c/0/1", ".zarray", "a/.zattrs", "c/0.0.0", "x..y"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "a/../b", "..", "a/./b", "a//b", "a/", "a\\b", "a\0b", ".zarr-tmp-1"] {
            let e = validate_key(bad).unwrap_err();
            assert_eq!(e.key(), bad);
            assert!(e.to_string().contains("invalid key"), "{e}");
        }
        assert_eq!(base_dir("a/b/c"), "a/b/");
        assert_eq!(base_dir("a/"), "a/");
        assert_eq!(base_dir("abc"), "");
    }
}
