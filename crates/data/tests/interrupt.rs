//! What a signal handler does before the process ends: removes every temporary
//! file the process is writing and lets nothing appear under an output name
//! afterwards. Its own test binary, because it closes the process-wide list for
//! good.

#![allow(clippy::unwrap_used)]

use std::io::Write;

use blindmatch_data::output::{
    AtomicFile, remove_live_temporaries, seal_atomic, temporaries_removed, write_atomic,
};

#[test]
fn an_interruption_removes_every_temporary_file_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut writing = AtomicFile::create(&dir.path().join("tokens.csv"), false, true).unwrap();
    writing.write_all(b"half a file").unwrap();
    let sealed = seal_atomic(&dir.path().join("manifest.json"), b"{}", false, false).unwrap();
    let dropped = AtomicFile::create(&dir.path().join("rejects.csv"), false, false).unwrap();
    drop(dropped);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    let before = temporaries_removed();

    assert_eq!(remove_live_temporaries(), 2);
    assert_eq!(temporaries_removed(), before + 2);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // Whatever the main thread does next, nothing appears.
    assert!(sealed.commit().is_err());
    let _ = writing.write_all(b"more");
    assert!(writing.commit().is_err());
    let err = write_atomic(&dir.path().join("late.csv"), b"x", false, false).unwrap_err();
    assert!(err.to_string().starts_with("interrupted"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert_eq!(temporaries_removed(), before + 2);
}
