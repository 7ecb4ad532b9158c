// A throwaway PostgreSQL server for tests (Debian's postgresql, installed by
// deploy/install-deps.sh): initdb into a temp dir, listening only on a unix
// socket there, trust authentication, stopped on destruction. As root the
// server runs as Debian's postgres user (initdb refuses root). The tests of
// the agent's psql scripts (admin_passwords, test_data) run those scripts
// against it, with the tables of OpenCRVS's migrations.
#ifndef PREFLIGHT_TESTS_SUPPORT_REAL_POSTGRES_H_
#define PREFLIGHT_TESTS_SUPPORT_REAL_POSTGRES_H_

#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {

class RealPostgres {
 public:
  RealPostgres();
  ~RealPostgres();
  RealPostgres(const RealPostgres&) = delete;
  RealPostgres& operator=(const RealPostgres&) = delete;

  // Whether the server started; error() says why not.
  bool ok() const { return started_; }
  std::string error() const;
  // The directory holding the server's socket (psql -h).
  const std::string& socket_dir() const { return dir_.path(); }
  // Runs `sql` in database `db` as the server's superuser (psql -c, stop
  // on error); its output. A failure is a test failure.
  std::string Psql(const std::string& db, const std::string& sql);

 private:
  static std::string FindBin();
  RunResult Run(std::vector<std::string> argv);

  TempDir dir_;
  std::string bin_;
  std::vector<std::string> as_;
  std::string error_;
  bool started_ = false;
};

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_SUPPORT_REAL_POSTGRES_H_
