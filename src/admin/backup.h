// Backups of a data directory: one gzip-compressed POSIX tar archive (written and read with
// libarchive) holding, by their paths relative to the data directory,
//   wirebox.db          a consistent snapshot of the SQLite database (VACUUM INTO)
//   events/data.mdb     a consistent, compacted copy of the LMDB notification store
//   assets/...          the asset files (except assets/tmp: uploads in progress); asset files
//                       are immutable once renamed into place, so copying them live is safe
//   secrets/..., tls/...  the token signing key, TURN secret and self-signed certificate
//   MANIFEST.json       last: {"format":"wirebox-backup","version":1,"created_at","domain",
//                       "files":[{"path","size","sha256"}]} for every other entry
// The archive holds secrets: it is written 0600.
//
// write_backup runs in the daemon while it serves (blocking: call it on the worker pool). The
// database and the notification store are snapshotted one after the other, so events appended
// in between may be in the copy of the store without the database rows of the same moment;
// every event acknowledged before the backup started is in both. Asset files are copied after
// the database: a file uploaded in between has no row in the copy (the asset store removes such
// orphans at start); one deleted in between is missing from the archive.
//
// verify_backup and restore_backup run without a daemon (wirectl). Restore verifies the whole
// archive first (paths, entry types, sizes, checksums, manifest) and changes nothing if any
// check fails; then it extracts into <data_dir>/.restore-staging, checks the database's
// integrity, moves the current items aside into <data_dir>/.restore-previous-<time>/ and renames
// the restored ones into place. The caller must hold the data directory's lock (DataDirLock).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/api_error.h"

namespace wirebox::admin {

struct BackupFile {
  std::string path;  // relative to the data directory
  int64_t size = 0;
  std::string sha256;  // lowercase hex
};

struct BackupManifest {
  int64_t created_at_ms = 0;
  std::string domain;
  std::vector<BackupFile> files;
};

struct BackupSources {
  std::string data_dir;
  std::string domain;
  std::function<Status(const std::string& path)> snapshot_database;  // writes a database file at path
  std::function<Status(const std::string& dir)> copy_events;         // fills the empty directory dir
};

// Writes the archive to archive_path, using staging_dir (created, must be on a filesystem with
// room for a database snapshot) for the intermediate snapshots; removes staging_dir's contents
// except archive_path when it is inside it.
Result<BackupManifest> write_backup(const BackupSources& sources, const std::string& staging_dir,
                                    const std::string& archive_path);

// Reads the whole archive and checks it; the error says what is wrong (400 invalid-backup).
Result<BackupManifest> verify_backup(const std::string& archive_path);

struct RestoreReport {
  BackupManifest manifest;
  std::string previous_dir;  // where the replaced items were moved; empty if there were none
};

// SHA-256 of a file's bytes, lowercase hex.
Result<std::string> sha256_file(const std::string& path);

Result<RestoreReport> restore_backup(const std::string& archive_path, const std::string& data_dir);

}  // namespace wirebox::admin
