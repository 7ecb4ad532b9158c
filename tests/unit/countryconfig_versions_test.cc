// The country configuration, production against staging
// (collector/readiness/countryconfig_versions.h): the pure comparison over
// the managers' latest services facts, the version normalisation it shares
// with release.latest, and what `preflightctl status` prints of it. Services
// are described as the agent describes them (agent::DescribeService), from
// the image reference `docker service ls` prints, digest and all.
#include "collector/readiness/countryconfig_versions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/facts/services.h"
#include "collector/checks/release_version.h"
#include "collector/cli/status_render.h"
#include "tests/support/json.h"

namespace preflight {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Outcome = v1::CountryconfigComparison;

constexpr char kFarajaland[] = "ghcr.io/opencrvs/ocrvs-farajaland";
constexpr char kDigest[] =
    "@sha256:4f0a1c9e7b3d2a6f8e5c1b0d9a7f3e2c6b5a4d3e2f1a0b9c8d7e6f5a4b3c2d1e";

v1::ServiceState Service(const std::string& name, const std::string& image) {
  agent::DockerService s;
  s.name = name;
  s.image = image;
  return agent::DescribeService(s);
}

// The services fact of a manager whose swarm runs `countryconfig_image` as
// opencrvs_countryconfig, beside a core service.
v1::ServicesFact Running(const std::string& countryconfig_image) {
  v1::ServicesFact f;
  f.mutable_collection()->set_state(v1::Collection::OK);
  f.set_enabled(true);
  *f.add_services() = Service("opencrvs_gateway", "ghcr.io/opencrvs/ocrvs-gateway:v1.9.0");
  *f.add_services() = Service("opencrvs_countryconfig", countryconfig_image);
  return f;
}

v1::ServicesFact Failed(v1::Collection::State state, const std::string& error) {
  v1::ServicesFact f;
  f.mutable_collection()->set_state(state);
  f.mutable_collection()->set_error(error);
  return f;
}

// An inventory and the latest services facts of its managers.
class Fleet {
 public:
  Fleet& Host(const std::string& id, const std::string& environment,
              const std::string& role = "manager") {
    v1::InventoryHost* h = inventory_.add_hosts();
    h->set_id(id);
    h->set_environment(environment);
    h->add_roles(role);
    return *this;
  }
  Fleet& Reports(const std::string& id, v1::ServicesFact fact) {
    facts_[id] = std::move(fact);
    return *this;
  }
  // A report without a services fact (an agent older than it).
  Fleet& ReportsNoServices(const std::string& id) {
    no_fact_.insert(id);
    return *this;
  }
  // When the collector received `id`'s report (default: kSeenAt).
  Fleet& ReceivedAt(const std::string& id, absl::Time at) {
    received_[id] = absl::ToUnixMillis(at);
    return *this;
  }
  v1::CountryconfigComparison Compare(absl::Time now = absl::InfinitePast(),
                                      absl::Duration stale_after = absl::ZeroDuration()) {
    std::vector<collector::ServicesReport> reports;
    for (const v1::InventoryHost& h : inventory_.hosts()) {
      const int64_t received = received_.contains(h.id()) ? received_[h.id()] : kSeenAt;
      if (auto it = facts_.find(h.id()); it != facts_.end()) {
        reports.push_back({&h, &it->second, kSeenAt, received});
      } else if (no_fact_.contains(h.id())) {
        reports.push_back({&h, nullptr, kSeenAt, received});
      }
    }
    return collector::CompareCountryconfig(inventory_, reports, now, stale_after);
  }

  static constexpr int64_t kSeenAt = 1765440000000;

 private:
  v1::Inventory inventory_;
  std::map<std::string, v1::ServicesFact> facts_;
  std::set<std::string> no_fact_;
  std::map<std::string, int64_t> received_;
};

Fleet ProductionAndStaging(const std::string& production_image, const std::string& staging_image) {
  Fleet fleet;
  fleet.Host("prod-01", "production")
      .Host("prod-02", "production", "worker")
      .Host("staging-01", "staging")
      .Reports("prod-01", Running(production_image))
      .Reports("staging-01", Running(staging_image));
  return fleet;
}

// A manager whose report arrived longer ago than the policy's staleness is
// not taken at its word: an old "v1.9.3" does not make production the same
// as staging while the fresh manager beside it cannot tell. Judged by the
// collector's receive time, not the agent's collected_at.
TEST(CountryconfigVersions, AStaleReportIsNotTakenAtItsWord) {
  const std::string image = absl::StrCat(kFarajaland, ":v1.9.3");
  const absl::Time now = absl::FromUnixMillis(Fleet::kSeenAt) + absl::Hours(24 * 21);
  auto fleet = [&] {
    Fleet f;
    f.Host("prod-01", "production")
        .Host("prod-02", "production")
        .Host("staging-01", "staging")
        .Reports("prod-01", Running(image))
        .Reports("prod-02", Failed(v1::Collection::ERROR, "permission denied on docker.sock"))
        .Reports("staging-01", Running(image))
        .ReceivedAt("prod-02", now - absl::Minutes(1))
        .ReceivedAt("staging-01", now - absl::Minutes(1));
    return f;
  };
  v1::CountryconfigComparison stale = fleet().Compare(now, absl::Seconds(900));
  EXPECT_EQ(stale.outcome(), Outcome::NOT_COMPARED) << stale.summary();
  EXPECT_THAT(stale.summary(), AllOf(HasSubstr("prod-01"), HasSubstr("stale after 15m")));
  // The same fleet with prod-01's report fresh: the same version.
  v1::CountryconfigComparison fresh =
      fleet().ReceivedAt("prod-01", now - absl::Minutes(2)).Compare(now, absl::Seconds(900));
  EXPECT_EQ(fresh.outcome(), Outcome::SAME) << fresh.summary();
}

// A countryconfig service whose update has not completed, or with fewer
// tasks running than desired, may run another version than its spec names:
// not compared, and said why.
TEST(CountryconfigVersions, AnUnsettledServiceIsNotComparedByItsSpec) {
  const std::string image = absl::StrCat(kFarajaland, ":v1.9.3");
  for (const auto& [state, running, desired] :
       std::vector<std::tuple<std::string, uint32_t, uint32_t>>{
           {"paused", 1, 1}, {"rollback_completed", 1, 1}, {"updating", 1, 1}, {"", 0, 1}}) {
    v1::ServicesFact production = Running(image);
    v1::ServiceState& cc = *production.mutable_services(1);
    ASSERT_TRUE(cc.countryconfig());
    cc.set_update_state(state);
    cc.set_replicas_known(true);
    cc.set_running(running);
    cc.set_desired(desired);
    Fleet fleet;
    fleet.Host("prod-01", "production")
        .Host("staging-01", "staging")
        .Reports("prod-01", production)
        .Reports("staging-01", Running(image));
    v1::CountryconfigComparison c = fleet.Compare();
    EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED) << state << " " << running << "/" << desired;
    EXPECT_THAT(c.summary(), HasSubstr("not settled")) << c.summary();
  }
  // Completed and all running: compared.
  v1::ServicesFact production = Running(image);
  production.mutable_services(1)->set_update_state("completed");
  production.mutable_services(1)->set_replicas_known(true);
  production.mutable_services(1)->set_running(1);
  production.mutable_services(1)->set_desired(1);
  Fleet fleet;
  fleet.Host("prod-01", "production")
      .Host("staging-01", "staging")
      .Reports("prod-01", production)
      .Reports("staging-01", Running(image));
  EXPECT_EQ(fleet.Compare().outcome(), Outcome::SAME);
}

TEST(NormalVersion, ALeadingVIsNotPartOfTheRelease) {
  EXPECT_EQ(collector::NormalVersion("v1.9.0"), collector::NormalVersion("1.9.0"));
  EXPECT_EQ(collector::NormalVersion("V1.9.0"), collector::NormalVersion("1.9.0"));
  EXPECT_TRUE(collector::SameVersion("v1.9.0", "1.9.0"));
  EXPECT_FALSE(collector::SameVersion("v1.9.0", "v1.9.1"));
  EXPECT_FALSE(collector::SameVersion("v", ""));  // a lone "v" is not empty
}

TEST(CountryconfigVersions, TheSameVersionIsStatedWithImageAndHosts) {
  const std::string image = absl::StrCat(kFarajaland, ":v1.9.2");
  v1::CountryconfigComparison c = ProductionAndStaging(image, image).Compare();
  EXPECT_EQ(c.outcome(), Outcome::SAME) << c.summary();
  EXPECT_THAT(c.summary(), AllOf(HasSubstr(absl::StrCat("production runs ", image)),
                                 HasSubstr("prod-01"), HasSubstr("staging-01")));
  EXPECT_THAT(c.summary(), Not(HasSubstr("not")));
  // One entry per manager that reported (the worker lists no services).
  ASSERT_EQ(c.versions_size(), 2);
  EXPECT_EQ(c.versions(0).environment(), "production");
  EXPECT_EQ(c.versions(0).reported_by(), "prod-01");
  EXPECT_EQ(c.versions(0).service(), "opencrvs_countryconfig");
  EXPECT_EQ(c.versions(0).image(), image);
  EXPECT_EQ(c.versions(0).version(), "v1.9.2");
  EXPECT_EQ(c.versions(0).seen_at_unix_ms(), Fleet::kSeenAt);
  EXPECT_TRUE(c.versions(0).problem().empty());
  EXPECT_EQ(c.versions(1).environment(), "staging");
  EXPECT_EQ(c.versions(1).reported_by(), "staging-01");
}

TEST(CountryconfigVersions, ALeadingVIsIgnoredAsReleaseLatestIgnoresIt) {
  v1::CountryconfigComparison c = ProductionAndStaging(absl::StrCat(kFarajaland, ":v1.9.2"),
                                                       absl::StrCat(kFarajaland, ":1.9.2"))
                                      .Compare();
  EXPECT_EQ(c.outcome(), Outcome::SAME) << c.summary();
  EXPECT_EQ(collector::SameVersion(c.versions(0).version(), c.versions(1).version()), true);
}

TEST(CountryconfigVersions, ADifferentVersionIsAWarningNamingBothVersionsImagesAndHosts) {
  const std::string production = absl::StrCat(kFarajaland, ":v1.9.2");
  const std::string staging = absl::StrCat(kFarajaland, ":v1.9.3");
  v1::CountryconfigComparison c = ProductionAndStaging(production, staging).Compare();
  EXPECT_EQ(c.outcome(), Outcome::DIFFERENT) << c.summary();
  EXPECT_THAT(c.summary(),
              AllOf(HasSubstr(absl::StrCat("production runs ", production, " (host prod-01)")),
                    HasSubstr("staging runs v1.9.3 (host staging-01)"),
                    HasSubstr("not the one last tested on staging")));
}

TEST(CountryconfigVersions, AnotherImageWithTheSameTagIsNotTheSameConfiguration) {
  const std::string other = "ghcr.io/example/countryconfig:v1.9.2";
  v1::CountryconfigComparison c =
      ProductionAndStaging(absl::StrCat(kFarajaland, ":v1.9.2"), other).Compare();
  EXPECT_EQ(c.outcome(), Outcome::DIFFERENT) << c.summary();
  EXPECT_THAT(c.summary(), AllOf(HasSubstr(kFarajaland), HasSubstr(other)));
}

TEST(CountryconfigVersions, ADigestIsNotPartOfTheVersionAndARegistryPortIsNotATag) {
  // The agent leaves the digest out (ServiceState.image) and takes the tag
  // before it as the version: pinned and unpinned v1.9.2 are one release.
  const std::string tag = absl::StrCat(kFarajaland, ":v1.9.2");
  v1::CountryconfigComparison c = ProductionAndStaging(tag + kDigest, tag).Compare();
  EXPECT_EQ(c.outcome(), Outcome::SAME) << c.summary();
  EXPECT_EQ(c.versions(0).image(), tag);
  EXPECT_EQ(c.versions(0).version(), "v1.9.2");

  const std::string local = "registry.gov.example:5000/opencrvs/ocrvs-farajaland";
  c = ProductionAndStaging(absl::StrCat(local, ":v1.9.2"), absl::StrCat(local, ":v1.9.3"))
          .Compare();
  EXPECT_EQ(c.outcome(), Outcome::DIFFERENT) << c.summary();
  EXPECT_THAT(c.summary(), HasSubstr("not the one last tested"));
}

TEST(CountryconfigVersions, AnImageWithoutATagIsNeverTheSame) {
  // By digest alone, or by :latest: the tag names no release (the agent
  // reports "latest" for both), and two "latest" may be any two builds.
  for (const auto& [production, staging] : std::vector<std::pair<std::string, std::string>>{
           {absl::StrCat(kFarajaland, kDigest), absl::StrCat(kFarajaland, ":v1.9.2")},
           {absl::StrCat(kFarajaland, ":latest"), absl::StrCat(kFarajaland, ":latest")},
           {absl::StrCat(kFarajaland, ":v1.9.2"), kFarajaland}}) {
    v1::CountryconfigComparison c = ProductionAndStaging(production, staging).Compare();
    EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED) << production << " " << staging;
    EXPECT_THAT(c.summary(), HasSubstr("without a version tag")) << c.summary();
  }
}

TEST(CountryconfigVersions, StagingNotReportingIsNotCompared) {
  Fleet fleet;
  fleet.Host("prod-01", "production")
      .Host("staging-01", "staging")
      .Reports("prod-01", Running(absl::StrCat(kFarajaland, ":v1.9.2")));
  v1::CountryconfigComparison c = fleet.Compare();
  EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED);
  EXPECT_THAT(c.summary(), AllOf(HasSubstr("not compared"), HasSubstr("staging-01"),
                                 HasSubstr("never reported")));
  ASSERT_EQ(c.versions_size(), 1);  // production's is still listed
  EXPECT_EQ(c.versions(0).version(), "v1.9.2");
}

TEST(CountryconfigVersions, AnInventoryWithoutStagingIsNotCompared) {
  Fleet fleet;
  fleet.Host("prod-01", "production")
      .Host("qa-01", "qa")
      .Reports("prod-01", Running(absl::StrCat(kFarajaland, ":v1.9.2")))
      .Reports("qa-01", Running(absl::StrCat(kFarajaland, ":v1.9.2")));
  v1::CountryconfigComparison c = fleet.Compare();
  EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED);
  EXPECT_THAT(c.summary(), HasSubstr("the inventory has no staging manager"));
  ASSERT_EQ(c.versions_size(), 2);  // QA's is listed, never compared
  EXPECT_EQ(c.versions(1).environment(), "qa");
}

TEST(CountryconfigVersions, AServicesFactInErrorOrOffSaysWhyNotCompared) {
  const std::string error = "docker service ls: permission denied (docker.sock)";
  v1::CountryconfigComparison c = ProductionAndStaging(absl::StrCat(kFarajaland, ":v1.9.2"), "")
                                      .Reports("staging-01", Failed(v1::Collection::ERROR, error))
                                      .Compare();
  EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED);
  EXPECT_THAT(c.summary(), AllOf(HasSubstr("staging-01"), HasSubstr(error)));
  ASSERT_EQ(c.versions_size(), 2);
  EXPECT_EQ(c.versions(1).problem(), error);
  EXPECT_TRUE(c.versions(1).version().empty());

  c = ProductionAndStaging("", absl::StrCat(kFarajaland, ":v1.9.2"))
          .Reports("prod-01", Failed(v1::Collection::ABSENT, agent::kApplicationOff))
          .Compare();
  EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED);
  EXPECT_THAT(c.summary(), AllOf(HasSubstr("prod-01"), HasSubstr(agent::kApplicationOff)));
}

TEST(CountryconfigVersions, NoCountryconfigServiceOrNoServicesFactIsNotCompared) {
  v1::ServicesFact no_countryconfig;
  no_countryconfig.mutable_collection()->set_state(v1::Collection::OK);
  *no_countryconfig.add_services() =
      Service("opencrvs_gateway", "ghcr.io/opencrvs/ocrvs-gateway:v1.9.0");
  v1::CountryconfigComparison c = ProductionAndStaging(absl::StrCat(kFarajaland, ":v1.9.2"), "")
                                      .Reports("staging-01", no_countryconfig)
                                      .Compare();
  EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED);
  EXPECT_THAT(c.summary(), HasSubstr("no countryconfig service"));

  Fleet fleet;
  fleet.Host("prod-01", "production").Host("staging-01", "staging");
  fleet.Reports("staging-01", Running(absl::StrCat(kFarajaland, ":v1.9.2")))
      .ReportsNoServices("prod-01");
  c = fleet.Compare();
  EXPECT_EQ(c.outcome(), Outcome::NOT_COMPARED);
  EXPECT_THAT(c.summary(), AllOf(HasSubstr("prod-01"), HasSubstr("no services fact")));
}

TEST(CountryconfigVersions, ManagersOfOneEnvironmentThatDisagreeAreAWarning) {
  const std::string old_one = absl::StrCat(kFarajaland, ":v1.9.2");
  const std::string new_one = absl::StrCat(kFarajaland, ":v1.9.3");
  Fleet fleet;
  fleet.Host("prod-01", "production")
      .Host("prod-02", "production")
      .Host("staging-01", "staging")
      .Reports("prod-01", Running(old_one))
      .Reports("prod-02", Running(new_one))
      .Reports("staging-01", Running(new_one));
  v1::CountryconfigComparison c = fleet.Compare();
  EXPECT_EQ(c.outcome(), Outcome::DIFFERENT) << c.summary();
  EXPECT_THAT(c.summary(), AllOf(HasSubstr("production lists more than one"),
                                 HasSubstr(absl::StrCat(old_one,
                                                        " (service opencrvs_countryconfig, "
                                                        "host prod-01)")),
                                 HasSubstr(absl::StrCat(new_one,
                                                        " (service opencrvs_countryconfig, "
                                                        "host prod-02)"))));
  EXPECT_EQ(c.versions_size(), 3);
}

TEST(CountryconfigVersions, ManagersThatAgreeAreOneSideAndOneThatCannotTellIsPassedOver) {
  const std::string image = absl::StrCat(kFarajaland, ":v1.9.3");
  Fleet fleet;
  fleet.Host("prod-01", "production")
      .Host("prod-02", "production")
      .Host("prod-03", "production")
      .Host("staging-01", "staging")
      .Reports("prod-01", Running(image))
      .Reports("prod-02", Running(image))
      .Reports("prod-03", Failed(v1::Collection::ERROR, "docker did not answer"))
      .Reports("staging-01", Running(image));
  v1::CountryconfigComparison c = fleet.Compare();
  EXPECT_EQ(c.outcome(), Outcome::SAME) << c.summary();
  EXPECT_THAT(c.summary(), HasSubstr("hosts prod-01, prod-02"));
  ASSERT_EQ(c.versions_size(), 4);
  EXPECT_EQ(c.versions(2).reported_by(), "prod-03");
  EXPECT_EQ(c.versions(2).problem(), "docker did not answer");
}

// `preflightctl status`: the comparison under the verdict, a warning when
// the versions differ, and each manager's configuration; the JSON document
// carries all of it.
TEST(CountryconfigVersions, StatusShowsTheComparisonInTextAndJson) {
  const std::string production = absl::StrCat(kFarajaland, ":v1.9.2");
  const std::string staging = absl::StrCat(kFarajaland, ":v1.9.3");
  v1::FleetSummaryHeader header;
  header.set_ready(true);
  *header.mutable_countryconfig() = ProductionAndStaging(production, staging).Compare();
  const std::string table =
      cli::SummaryTable(header, {}, absl::FromUnixMillis(Fleet::kSeenAt), 400);
  EXPECT_THAT(table, HasSubstr(absl::StrCat("WARNING: ", header.countryconfig().summary())));
  EXPECT_THAT(table, HasSubstr(absl::StrCat("staging: opencrvs_countryconfig runs ", staging)));
  EXPECT_THAT(table, HasSubstr("FLEET: READY"));  // a warning, never a reason

  const google::protobuf::Value doc = testing::ParseJson(cli::SummaryJson(header, {}));
  const google::protobuf::Value& cc = testing::Field(doc, "countryconfig");
  EXPECT_EQ(testing::Field(cc, "outcome").string_value(), "different");
  EXPECT_TRUE(testing::Field(cc, "warning").bool_value());
  EXPECT_EQ(testing::Field(cc, "summary").string_value(), header.countryconfig().summary());
  const auto& versions = testing::Field(cc, "versions").list_value();
  ASSERT_EQ(versions.values_size(), 2);
  EXPECT_EQ(testing::Field(versions.values(0), "image").string_value(), production);
  EXPECT_EQ(testing::Field(versions.values(1), "version").string_value(), "v1.9.3");
  EXPECT_EQ(testing::Field(versions.values(1), "reported_by").string_value(), "staging-01");

  // The same version: stated, no warning.
  *header.mutable_countryconfig() = ProductionAndStaging(production, production).Compare();
  EXPECT_THAT(cli::SummaryTable(header, {}, absl::FromUnixMillis(Fleet::kSeenAt), 400),
              AllOf(HasSubstr(header.countryconfig().summary()), Not(HasSubstr("WARNING"))));
  EXPECT_FALSE(testing::Field(testing::Field(testing::ParseJson(cli::SummaryJson(header, {})),
                                             "countryconfig"),
                              "warning")
                   .bool_value());
}

}  // namespace
}  // namespace preflight
