// The declarative catalogue: the registry binds functions by id and refuses
// mismatches; parameters resolve per host with their origins; the README's
// table is the catalogue's.
#include "collector/checks/catalogue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/checks/check.h"
#include "collector/checks/params.h"
#include "collector/readiness/engine.h"
#include "proto/wire/textproto.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Verdict Pass(const v1::FactReport&, const EvalContext&) {
  v1::Verdict v;
  v.set_status(v1::PASS);
  return v;
}

constexpr char kSmallCatalogue[] = R"pb(
  environments { name: "production" }
  roles { name: "manager" }
  items { number: 1 title: "One" }
  checks {
    id: "a.one"
    area: "a"
    item: 1
    severity: BLOCKER
    title: "A"
    remediation: "fix"
    params {
      name: "disk_warn_percent"
      type: UINT
      default_value: "50"
      min: 1
      max: 100
      less_than: "disk_fail_percent"
    }
    params { name: "disk_fail_percent" type: UINT default_value: "70" min: 1 max: 100 }
  }
  checks {
    id: "m.two"
    area: "m"
    item: 1
    severity: BLOCKER
    manual: true
    title: "M"
    remediation: "sign"
  }
)pb";

TEST(Catalogue, BuiltinValidatesAndNumbersItemsFromOne) {
  const v1::Catalogue& c = BuiltinCatalogue();
  ASSERT_GT(c.items_size(), 0);
  for (int i = 0; i < c.items_size(); ++i) EXPECT_EQ(c.items(i).number(), uint32_t(i + 1));
  EXPECT_TRUE(ValidateCatalogue(c).ok()) << ValidateCatalogue(c);
  // The source file is what is compiled in.
  auto parsed = ParseCatalogue(testing::ReadFile(std::string(PREFLIGHT_FIXTURES) +
                                                 "/../../collector/checks/catalogue.textproto"),
                               "catalogue.textproto");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), c.SerializeAsString());
}

TEST(Catalogue, EveryItemIsImplementedByACheck) {
  const v1::Catalogue& c = BuiltinCatalogue();
  std::set<uint32_t> covered;
  for (const v1::CheckSpec& s : c.checks()) covered.insert(s.item());
  for (const v1::ChecklistItem& item : c.items()) {
    EXPECT_TRUE(covered.count(item.number())) << "item " << item.number() << " has no check";
  }
}

TEST(Registry, BuiltinBindsEveryAutomatedCheck) {
  CheckRegistry registry;
  RegisterBuiltinChecks(registry);
  ASSERT_EQ(registry.all().size(), size_t(BuiltinCatalogue().checks_size()));
  for (const Check& c : registry.all()) {
    ASSERT_NE(c.spec, nullptr);
    EXPECT_TRUE(c.info.manual() || c.evaluate) << c.info.id();
  }
}

// The small catalogue, parsed without ValidateCatalogue (it declares only two
// of the Policy's parameters).
absl::StatusOr<v1::Catalogue> Small() {
  v1::Catalogue c;
  absl::Status st = ParseTextProto(kSmallCatalogue, "small", &c);
  if (!st.ok()) return st;
  return c;
}

TEST(Registry, RefusesASpecWithoutFunction) {
  auto c = Small();
  ASSERT_TRUE(c.ok()) << c.status();
  CheckRegistry registry;
  absl::Status st = registry.Finalize(*c);  // nothing bound
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("catalogue check 'a.one' has no evaluate function"));
  EXPECT_THAT(st.message(), HasSubstr("collector/checks/a.cc"));
  // The manual item needs none.
  EXPECT_THAT(st.message(), Not(HasSubstr("m.two")));
}

TEST(Registry, RefusesAFunctionWithoutSpec) {
  auto c = Small();
  ASSERT_TRUE(c.ok()) << c.status();
  CheckRegistry registry;
  registry.Bind("a.one", Pass);
  registry.Bind("b.stray", Pass);
  absl::Status st = registry.Finalize(*c);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("check function 'b.stray' has no entry in the catalogue"));

  CheckRegistry twice;
  twice.Bind("a.one", Pass);
  twice.Bind("a.one", Pass);
  EXPECT_THAT(twice.Finalize(*c).message(), HasSubstr("'a.one' is bound twice"));

  CheckRegistry good;
  good.Bind("a.one", Pass);
  EXPECT_TRUE(good.Finalize(*c).ok());
  EXPECT_EQ(good.all().size(), 2u);
}

TEST(Catalogue, RefusesInconsistentEntries) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {R"pb(items { number: 2 title: "x" })pb", "number 2, expected 1"},
      {R"pb(items { number: 1 title: "x" }
            checks { id: "a" area: "a" item: 1 severity: BLOCKER title: "t" remediation: "r" }
            checks { id: "a" area: "a" item: 1 severity: BLOCKER title: "t" remediation: "r" })pb",
       "check a: listed twice"},
      {R"pb(checks { id: "a" area: "a" item: 7 severity: BLOCKER title: "t" remediation: "r" })pb",
       "item 7 is not in the checklist"},
      {R"pb(checks {
              id: "a"
              area: "a"
              severity: BLOCKER
              title: "t"
              remediation: "r"
              roles: "mangr"
            })pb",
       "role 'mangr' is not declared"},
      {R"pb(checks {
              id: "a"
              area: "a"
              severity: BLOCKER
              title: "t"
              remediation: "r"
              params { name: "no_such_param" type: UINT default_value: "1" }
            })pb",
       "no such field in preflight.v1.Policy"},
      {R"pb(checks {
              id: "a"
              area: "a"
              severity: BLOCKER
              title: "t"
              remediation: "r"
              params { name: "disk_warn_percent" type: STRING_LIST merge: ADD }
            })pb",
       "does not fit type list"},
      {R"pb(checks {
              id: "a"
              area: "a"
              severity: BLOCKER
              title: "t"
              remediation: "r"
              params { name: "disk_warn_percent" type: UINT default_value: "500" min: 1 max: 100 }
            })pb",
       "disk_warn_percent is 500, outside 1..100"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseCatalogue(c.text, "t");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.error));
  }
  // A Policy field no check declares.
  auto partial = ParseCatalogue(kSmallCatalogue, "small");
  ASSERT_FALSE(partial.ok());
  EXPECT_THAT(partial.status().message(),
              HasSubstr("Policy field min_rsa_bits is no check's parameter"));
}

// --- parameters ------------------------------------------------------------

v1::InventoryHost Host(const char* id, const char* env, std::vector<std::string> roles) {
  v1::InventoryHost h;
  h.set_id(id);
  h.set_environment(env);
  for (auto& r : roles) h.add_roles(r);
  return h;
}

std::string Origin(const Params& p, const std::string& name) {
  for (const auto& e : p.effective()) {
    if (e.name() == name) return e.origin();
  }
  return "?";
}

TEST(Params, MostSpecificWinsAndZeroIsAValue) {
  const v1::CheckSpec* disk = FindSpec(BuiltinCatalogue(), "disk.headroom");
  ASSERT_NE(disk, nullptr);
  v1::Policy policy;
  policy.set_disk_warn_percent(40);
  (*policy.mutable_locations())["disk_warn_percent"] = "policy.textproto:3:1";
  v1::PolicyOverride* env = policy.add_override();
  env->set_environment("staging");
  env->mutable_set()->set_disk_warn_percent(60);
  (*policy.mutable_locations())["override[0].set.disk_warn_percent"] = "policy.textproto:9:9";
  v1::PolicyOverride* host = policy.add_override();
  host->set_host("stage-02");
  host->mutable_set()->set_root_min_free_gib(0);  // zero is a value
  v1::PolicyOverride* role = policy.add_override();
  role->set_role("backup");
  role->mutable_set()->set_disk_warn_percent(30);

  Params prod = ResolveParams(*disk, policy, Host("prod-01", "production", {"manager"}));
  EXPECT_EQ(prod.Uint("disk_warn_percent"), 40u);
  EXPECT_EQ(Origin(prod, "disk_warn_percent"), "policy.textproto:3:1");
  EXPECT_EQ(prod.Uint("disk_fail_percent"), 70u);
  EXPECT_EQ(Origin(prod, "disk_fail_percent"), "default");
  EXPECT_EQ(prod.Uint("root_min_free_gib"), 20u);

  Params stage = ResolveParams(*disk, policy, Host("stage-01", "staging", {"manager"}));
  EXPECT_EQ(stage.Uint("disk_warn_percent"), 60u);
  EXPECT_EQ(Origin(stage, "disk_warn_percent"), "policy.textproto:9:9 (environment staging)");

  // Role beats environment, whatever the order in the file.
  Params stage_backup = ResolveParams(*disk, policy, Host("stage-02", "staging", {"backup"}));
  EXPECT_EQ(stage_backup.Uint("disk_warn_percent"), 30u);
  EXPECT_EQ(Origin(stage_backup, "disk_warn_percent"), "policy (role backup)");
  EXPECT_EQ(stage_backup.Uint("root_min_free_gib"), 0u);
  EXPECT_EQ(Origin(stage_backup, "root_min_free_gib"), "policy (host stage-02)");
}

TEST(Params, DenyListsOnlyAddAllowListsReplace) {
  const v1::CheckSpec* vendor = FindSpec(BuiltinCatalogue(), "ssh.vendor_access_removed");
  const v1::CheckSpec* twofa = FindSpec(BuiltinCatalogue(), "ssh.2fa_enabled");
  ASSERT_NE(vendor, nullptr);
  ASSERT_NE(twofa, nullptr);
  v1::Policy policy;
  policy.add_deny_accounts("vendor-admin");
  v1::PolicyOverride* o = policy.add_override();
  o->set_host("prod-01");
  o->mutable_set()->add_deny_accounts("contractor");
  o->mutable_set()->add_ssh_2fa_exempt_accounts("ci");
  v1::InventoryHost h = Host("prod-01", "production", {"manager"});
  Params p = ResolveParams(*vendor, policy, h);
  EXPECT_THAT(p.List("deny_accounts"), ::testing::ElementsAre("vendor-admin", "contractor"));
  EXPECT_EQ(Origin(p, "deny_accounts"), "policy + policy (host prod-01)");
  // The default comment pattern stays: nothing removed it.
  EXPECT_THAT(p.List("deny_key_comment_patterns"), ::testing::ElementsAre("@opencrvs.org"));
  Params q = ResolveParams(*twofa, policy, h);
  EXPECT_THAT(q.List("ssh_2fa_exempt_accounts"), ::testing::ElementsAre("ci"));
}

TEST(Params, RoleDefaultsAndTheOlderPerRoleForm) {
  const v1::CheckSpec* fw = FindSpec(BuiltinCatalogue(), "firewall.public_exposure");
  ASSERT_NE(fw, nullptr);
  v1::Policy none;
  Params manager = ResolveParams(*fw, none, Host("m", "production", {"manager"}));
  EXPECT_THAT(manager.List("allowed_ports"), ::testing::ElementsAre("80/tcp", "443/tcp"));
  EXPECT_EQ(Origin(manager, "allowed_ports"), "default for role manager");
  Params worker = ResolveParams(*fw, none, Host("w", "production", {"worker"}));
  EXPECT_TRUE(worker.List("allowed_ports").empty());

  v1::Policy legacy;
  v1::RolePorts* rp = legacy.add_allowed_public_ports();
  rp->set_role("manager");
  rp->add_ports("443/tcp");
  Params m2 = ResolveParams(*fw, legacy, Host("m", "production", {"manager"}));
  EXPECT_THAT(m2.List("allowed_ports"), ::testing::ElementsAre("443/tcp"));
  EXPECT_EQ(Origin(m2, "allowed_ports"), "policy (role manager)");
}

TEST(Params, HostStatusShowsEffectiveParameters) {
  CheckRegistry registry;
  RegisterBuiltinChecks(registry);
  v1::Policy policy = WithPolicyDefaults({});
  policy.add_tls_hostnames("prod.example.gov");
  v1::HostStatus status = BuildHostStatus(registry, Host("prod-01", "production", {"manager"}),
                                          policy, std::nullopt, absl::Now());
  bool found = false;
  for (const v1::CheckResult& r : status.checks()) {
    if (r.check().id() != "tls.certificate_valid") continue;
    for (const v1::EffectiveParam& p : r.params()) {
      if (p.name() == "tls_hostnames") {
        found = true;
        EXPECT_EQ(p.value(), "[\"prod.example.gov\"]");
        EXPECT_EQ(p.origin(), "policy");
      }
    }
  }
  EXPECT_TRUE(found);
  // The fleet view leaves them out (they are for `preflightctl host`).
  v1::FleetStatus fleet = BuildFleetStatus(registry, policy, {status}, absl::Now());
  for (const v1::CheckResult& r : fleet.hosts(0).checks()) EXPECT_EQ(r.params_size(), 0);
}

// --- the README is generated from the catalogue ----------------------------

TEST(Catalogue, ReadmeTableIsTheCatalogues) {
  std::string readme = testing::ReadFile(std::string(PREFLIGHT_FIXTURES) + "/../../README.md");
  const std::string begin =
      "<!-- catalogue:begin (generated: preflightctl checks --format markdown) -->\n";
  const std::string end = "<!-- catalogue:end -->";
  size_t b = readme.find(begin), e = readme.find(end);
  ASSERT_NE(b, std::string::npos) << "README.md lacks the catalogue markers";
  ASSERT_NE(e, std::string::npos);
  std::string table = readme.substr(b + begin.size(), e - b - begin.size());
  if (std::getenv("PREFLIGHT_UPDATE_GOLDEN") != nullptr) {
    readme.replace(b + begin.size(), e - b - begin.size(), CatalogueMarkdown(BuiltinCatalogue()));
    testing::WriteFile(std::string(PREFLIGHT_FIXTURES) + "/../../README.md", readme);
    GTEST_SKIP() << "README.md's table regenerated";
  }
  EXPECT_EQ(table, CatalogueMarkdown(BuiltinCatalogue()))
      << "README.md's check table drifted from collector/checks/catalogue.textproto; "
         "regenerate it with: preflightctl checks --format markdown";
}

}  // namespace
}  // namespace preflight::collector
