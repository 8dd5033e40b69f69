// Versioned schema migrations. Each module owns its tables and declares its migrations as an
// ordered list; apply() runs the ones not yet recorded in schema_migrations, each in its own
// transaction, at start-up before the daemon serves. Migrations are append-only: never edit a
// released one, add the next version.
#pragma once

#include <string>
#include <vector>

#include "storage/sqlite.h"

namespace wirebox::storage {

struct Migration {
  int version;      // 1, 2, ... per module
  std::string sql;  // one or more statements
};

struct ModuleSchema {
  std::string module;  // e.g. "users"
  std::vector<Migration> migrations;
};

// Applies pending migrations; returns how many ran. Throws SqliteError on failure (the
// failing migration is rolled back and the daemon must not start), and std::runtime_error,
// before running any, if a module's recorded version is above its last known migration (a
// database from a newer wireboxd).
int apply_migrations(Database& db, const std::vector<ModuleSchema>& schemas);

// Highest applied version of a module, 0 if none.
int schema_version(Database& db, const std::string& module);

}  // namespace wirebox::storage
