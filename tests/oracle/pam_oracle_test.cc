// Oracle: the PAM model (collector/checks/pam_model) against the real libpam.
// Generated sshd stacks of real modules (pam_permit, pam_deny,
// pam_succeed_if, pam_unix, pam_google_authenticator) are written to a temp
// directory and run with pam_start_confdir + pam_authenticate, with a
// conversation that answers the password prompt and the verification-code
// prompt right or wrong; the agent's parser and the model must return the
// same code for every stack and scenario. Disagreements are model bugs.
//
// pam_unix and pam_google_authenticator need a real account: as root the
// fixture creates preflight-pamtest (home in a temp dir, a known password,
// a TOTP secret) and removes it after. Not root, only the stacks without
// those two modules run.
#include <grp.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/facts/pam.h"
#include "collector/checks/pam_model.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

using collector::PamAccount;
using collector::PamAnswer;
using collector::PamScenario;

constexpr const char* kUser = "preflight-pamtest";
constexpr const char* kPassword = "Oracle-Right-Pass-42";
// 20 secret bytes; the file holds them in base32.
constexpr unsigned char kSecret[] = "preflight-oracle-otp";
constexpr const char* kModuleDir = "/lib/x86_64-linux-gnu/security/";

std::string Base32(const unsigned char* data, size_t n) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  int buffer = 0, bits = 0;
  for (size_t i = 0; i < n; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

// RFC 6238 TOTP (30 s steps, 6 digits) with HMAC-SHA1.
int Totp(long step) {
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), kSecret, sizeof(kSecret) - 1, msg, sizeof(msg), mac, &len);
  int off = mac[len - 1] & 0xf;
  int bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return bin % 1000000;
}

struct Answers {
  std::string password;
  std::string code;
  std::vector<std::string> prompts;
};

int Converse(int n, const struct pam_message** msg, struct pam_response** resp, void* data) {
  auto* answers = static_cast<Answers*>(data);
  auto* r = static_cast<struct pam_response*>(calloc(n, sizeof(struct pam_response)));
  for (int i = 0; i < n; ++i) {
    if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON) {
      continue;
    }
    std::string prompt = msg[i]->msg != nullptr ? msg[i]->msg : "";
    answers->prompts.push_back(prompt);
    bool code = prompt.find("erification code") != std::string::npos;
    r[i].resp = strdup(code ? answers->code.c_str() : answers->password.c_str());
  }
  *resp = r;
  return PAM_SUCCESS;
}

void NoDelay(int, unsigned, void*) {}

int RunLibpam(const std::string& confdir, const Answers& in, std::vector<std::string>* prompts) {
  Answers answers = in;
  struct pam_conv conv = {Converse, &answers};
  pam_handle_t* h = nullptr;
  int rc = pam_start_confdir("sshd", kUser, &conv, confdir.c_str(), &h);
  if (rc != PAM_SUCCESS) {
    if (h != nullptr) pam_end(h, rc);
    return rc;
  }
  void (*delay)(int, unsigned, void*) = NoDelay;
  pam_set_item(h, PAM_FAIL_DELAY, reinterpret_cast<const void*>(delay));
  rc = pam_authenticate(h, PAM_SILENT);
  pam_end(h, rc);
  *prompts = answers.prompts;
  return rc;
}

int Shell(const std::string& cmd) { return std::system(cmd.c_str()); }

class PamOracle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = geteuid() == 0;
    dir_ = new testing::TempDir();
    chmod(dir_->path().c_str(), 0755);
    if (!root_) return;
    home_ = dir_->Join("home");
    Shell(absl::StrCat("userdel ", kUser, " >/dev/null 2>&1"));
    ASSERT_EQ(Shell(absl::StrCat("useradd -M -U -d ", home_, " -s /bin/bash ", kUser)), 0);
    ASSERT_EQ(
        Shell(absl::StrCat("echo '", kUser, ":", kPassword, "' | chpasswd -c SHA256 -s 1000")), 0);
    testing::MakeDirs(home_);
    struct passwd* pw = getpwnam(kUser);
    ASSERT_NE(pw, nullptr);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    ASSERT_EQ(chown(home_.c_str(), uid_, gid_), 0);
    chmod(home_.c_str(), 0700);
  }
  static void TearDownTestSuite() {
    if (root_) Shell(absl::StrCat("userdel ", kUser, " >/dev/null 2>&1"));
    delete dir_;
    dir_ = nullptr;
  }

  void Enrol(bool enrolled) {
    std::string path = home_ + "/.google_authenticator";
    unlink(path.c_str());
    if (!enrolled) return;
    std::ofstream f(path);
    f << Base32(kSecret, sizeof(kSecret) - 1) << "\n\" WINDOW_SIZE 3\n\" TOTP_AUTH\n";
    f.close();
    ASSERT_EQ(chown(path.c_str(), uid_, gid_), 0);
    chmod(path.c_str(), 0400);
  }

  PamAccount Account(bool enrolled) const {
    PamAccount a;
    a.name = kUser;
    a.uid = uid_;
    a.gid = gid_;
    a.home = home_;
    a.shell = "/bin/bash";
    int n = 64;
    std::vector<gid_t> groups(n);
    getgrouplist(kUser, gid_, groups.data(), &n);
    groups.resize(n > 0 ? n : 0);
    for (gid_t g : groups) {
      if (struct group* gr = getgrgid(g)) a.groups.push_back(gr->gr_name);
    }
    a.password = v1::PASSWORD_SET;
    a.otp_enrolled = enrolled;
    return a;
  }

  static bool root_;
  static testing::TempDir* dir_;
  static std::string home_;
  static uid_t uid_;
  static gid_t gid_;
};

bool PamOracle::root_ = false;
testing::TempDir* PamOracle::dir_ = nullptr;
std::string PamOracle::home_;
uid_t PamOracle::uid_ = 0;
gid_t PamOracle::gid_ = 0;

struct Generated {
  std::string sshd;
  std::vector<std::pair<std::string, std::string>> subs;  // name, content
  bool needs_user = false;                                // pam_unix or pam_google_authenticator
};

std::string Line(std::mt19937& rng, bool* needs_user, bool allow_missing) {
  static const char* kControls[] = {"required",
                                    "requisite",
                                    "sufficient",
                                    "optional",
                                    "[success=1 default=ignore]",
                                    "[success=2 default=ignore]",
                                    "[success=done new_authtok_reqd=done default=die]",
                                    "[default=bad success=ok]",
                                    "[success=ok ignore=ignore default=bad]"};
  static const char* kConditions[] = {"uid >= 1000",
                                      "uid < 1000",
                                      "user = preflight-pamtest",
                                      "user != preflight-pamtest",
                                      "user ingroup preflight-pamtest",
                                      "user notingroup preflight-pamtest",
                                      "user in root:preflight-pamtest",
                                      "gid eq 0"};
  std::string control = kControls[rng() % (sizeof(kControls) / sizeof(kControls[0]))];
  std::string module;
  switch (rng() % (allow_missing ? 8 : 7)) {
    case 0:
    case 1:
      module = "pam_permit.so";
      break;
    case 2:
      module = "pam_deny.so";
      break;
    case 3:
      module = absl::StrCat("pam_succeed_if.so quiet ",
                            kConditions[rng() % (sizeof(kConditions) / sizeof(kConditions[0]))]);
      break;
    case 4:
      module = rng() % 2 ? "pam_unix.so nullok" : "pam_unix.so";
      *needs_user = true;
      break;
    case 5:
    case 6:
      module = rng() % 2 ? "pam_google_authenticator.so nullok noskewadj"
                         : "pam_google_authenticator.so noskewadj";
      *needs_user = true;
      break;
    default:
      return absl::StrCat(rng() % 2 ? "-auth " : "auth ", control, " pam_preflight_missing.so");
  }
  return absl::StrCat("auth ", control, " ", module);
}

Generated Generate(std::mt19937& rng, const std::string& dir, int index) {
  Generated g;
  int lines = 1 + static_cast<int>(rng() % 5);
  for (int i = 0; i < lines; ++i) {
    unsigned pick = rng() % 10;
    if (pick == 0 || pick == 1) {
      std::string name = absl::StrCat(dir, "/sub", index, "_", i);
      std::string content;
      int n = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < n; ++k) absl::StrAppend(&content, Line(rng, &g.needs_user, true), "\n");
      g.subs.emplace_back(name, content);
      // Debian's libpam reads a relative include from /etc/pam.d even with a
      // confdir, so the oracle names the files by absolute path.
      absl::StrAppend(&g.sshd, pick == 0 ? "auth substack " : "auth include ", name, "\n");
    } else if (pick == 2) {
      std::string name = absl::StrCat(dir, "/at", index, "_", i);
      g.subs.emplace_back(name, absl::StrCat(Line(rng, &g.needs_user, false), "\n"));
      absl::StrAppend(&g.sshd, "@include ", name, "\n");
    } else {
      absl::StrAppend(&g.sshd, Line(rng, &g.needs_user, true), "\n");
    }
  }
  return g;
}

// The pam fact as the agent builds it, for files on this machine.
v1::PamFact Fact(const std::string& sshd_path) {
  v1::PamFact fact;
  fact.set_file(sshd_path);
  agent::PamFollowFn follow = [&](const agent::PamInclude& inc) -> bool {
    std::ifstream f(inc.name);
    if (inc.name.empty() || inc.name[0] != '/' || !f) {
      if (inc.at_include && fact.load_error().empty()) fact.set_load_error(inc.name);
      return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    agent::ParsePamStack(ss.str(), inc.name, inc.type, inc.depth, fact, follow);
    return true;
  };
  std::ifstream f(sshd_path);
  std::stringstream ss;
  ss << f.rdbuf();
  agent::ParsePamStack(ss.str(), sshd_path, "", 0, fact, follow);
  for (v1::PamRule& r : *fact.mutable_rules()) {
    if (!r.must_fail().empty() || r.control() == "substack") continue;
    std::string path = r.module()[0] == '/' ? r.module() : absl::StrCat(kModuleDir, r.module());
    struct stat st;
    r.set_module_path(path);
    r.set_module_state(stat(path.c_str(), &st) == 0 ? v1::PamRule::MODULE_PRESENT
                                                    : v1::PamRule::MODULE_MISSING);
  }
  fact.set_structured(true);
  return fact;
}

TEST_F(PamOracle, GeneratedStacksAgreeWithLibpam) {
  std::mt19937 rng(20240607);
  constexpr int kStacks = 250;
  int compared = 0, skipped = 0, disagreements = 0, successes = 0;
  std::string conf = dir_->Join("conf");
  testing::MakeDirs(conf);
  for (int s = 0; s < kStacks; ++s) {
    Generated g = Generate(rng, conf, s);
    if (g.needs_user && !root_) {
      ++skipped;
      continue;
    }
    testing::WriteFile(conf + "/sshd", g.sshd);
    for (const auto& [name, content] : g.subs) testing::WriteFile(name, content);
    v1::PamFact fact = Fact(conf + "/sshd");
    for (int scenario = 0; scenario < 8; ++scenario) {
      bool password_right = scenario & 1, code_right = scenario & 2, enrolled = scenario & 4;
      if (root_) Enrol(enrolled);
      long step = static_cast<long>(std::time(nullptr)) / 30;
      int right = Totp(step);
      int wrong = 0;
      while (wrong == Totp(step - 1) || wrong == right || wrong == Totp(step + 1) ||
             wrong == Totp(step + 2)) {
        wrong = (wrong + 111111) % 1000000;
      }
      Answers answers;
      answers.password = password_right ? kPassword : "Wrong-Pass";
      answers.code = absl::StrFormat("%06d", code_right ? right : wrong);
      std::vector<std::string> prompts;
      int rc = RunLibpam(conf, answers, &prompts);
      PamAccount account;
      if (root_) {
        account = Account(enrolled);
      } else {
        account.name = kUser;  // only modules that ignore the account run
      }
      PamAnswer ans = collector::PamAuthenticates(fact, account,
                                                  PamScenario{password_right, code_right}, nullptr);
      ++compared;
      if (rc == PAM_SUCCESS) ++successes;
      bool agree = ans.kind != PamAnswer::kUnknown && ans.run.result == rc;
      if (!agree) {
        ++disagreements;
        std::string subs;
        for (const auto& [name, content] : g.subs)
          absl::StrAppend(&subs, "--- ", name, "\n", content);
        ADD_FAILURE() << "stack " << s << " password " << (password_right ? "right" : "wrong")
                      << ", code " << (code_right ? "right" : "wrong") << ", "
                      << (enrolled ? "enrolled" : "not enrolled") << ": libpam "
                      << collector::PamCodeName(rc) << ", model "
                      << (ans.kind == PamAnswer::kUnknown ? "unknown: " + ans.why
                                                          : collector::PamCodeName(ans.run.result))
                      << "\n--- sshd\n"
                      << g.sshd << subs << "model run: " << collector::PamRunText(fact, ans.run)
                      << "\nprompts: " << absl::StrJoin(prompts, " | ");
      }
    }
  }
  std::printf(
      "pam oracle: %d runs compared (%d succeeded in libpam), %d stacks skipped%s, %d "
      "disagreements\n",
      compared, successes, skipped, root_ ? "" : " (not root: pam_unix/otp need a user)",
      disagreements);
  EXPECT_EQ(disagreements, 0);
  EXPECT_GT(compared, 500);
  if (root_) {
    EXPECT_GT(successes, 50);
  }
}

}  // namespace
}  // namespace preflight
