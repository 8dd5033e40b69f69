#include "storage/migrations.h"

#include <stdexcept>

namespace wirebox::storage {

int apply_migrations(Database& db, const std::vector<ModuleSchema>& schemas) {
  db.write([](Connection& c) {
    c.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " module TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,"
        " PRIMARY KEY (module, version))");
  });
  int ran = 0;
  // A database a newer wireboxd migrated (a downgrade, a backup from a newer version) has
  // tables this build does not know: serving on it could corrupt them. Checked for every module
  // before anything runs.
  for (const auto& schema : schemas) {
    int known = schema.migrations.empty() ? 0 : schema.migrations.back().version;
    int current = schema_version(db, schema.module);
    if (current > known)
      throw std::runtime_error("the database's " + schema.module + " schema is at version " + std::to_string(current) +
                               ", newer than this wireboxd knows (" + std::to_string(known) +
                               "): it was written by a newer version; run that version or restore an older backup");
  }
  for (const auto& schema : schemas) {
    int current = schema_version(db, schema.module);
    for (const auto& m : schema.migrations) {
      if (m.version <= current) continue;
      db.write([&](Connection& c) {
        c.exec(m.sql);
        c.prepare("INSERT INTO schema_migrations(module, version, applied_at) VALUES (?, ?, strftime('%s','now'))")
            .bind(1, schema.module)
            .bind(2, static_cast<int64_t>(m.version))
            .run();
      });
      ++ran;
    }
  }
  return ran;
}

int schema_version(Database& db, const std::string& module) {
  int v = 0;
  db.read([&](Connection& c) {
    // Before the first apply_migrations() the table does not exist: that is version 0, not an
    // error (preparing the SELECT used to throw "no such table").
    if (!c.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").step()) return;
    auto st = c.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE module = ?");
    st.bind(1, module);
    if (st.step()) v = static_cast<int>(st.integer(0));
  });
  return v;
}

}  // namespace wirebox::storage
