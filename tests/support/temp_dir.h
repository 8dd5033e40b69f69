// TempDir: a fresh private directory under $TMPDIR (or /tmp), removed with its contents when
// the object goes out of scope. Safe to use from tests running in parallel processes.
#pragma once

#include <string>

namespace wirebox::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name (the file is not created).
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes text to path (truncating); throws std::runtime_error on failure.
void write_file(const std::string& path, const std::string& text);
// The whole file; throws std::runtime_error if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace wirebox::test
