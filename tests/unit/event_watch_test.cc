// The event watch (collector/service/event_watch.h) on a real store, with
// the time injected: a host going stale and coming back is told once each,
// across a restart; a waiver, a sign-off, the CRL and the collector's own
// certificates (a PKI made by certs/preflight-certs) are told once per expiry
// date; the fleet verdict once per change.
#include "collector/service/event_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/checks/check.h"
#include "collector/readiness/engine.h"
#include "collector/service/own_certificates.h"
#include "proto/wire/revocation.h"
#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"

namespace preflight::collector {
namespace {

using ::preflight::testing::TempDir;
using ::preflight::testing::TestPki;

const std::string kInstance = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

class EventWatchTest : public ::testing::Test {
 protected:
  EventWatchTest() : pki_(tmp_.Join("pki"), "preflight.test") { Restart(); }

  // A new collector on the same store: nothing but the store carries over.
  void Restart() {
    state_ = std::make_unique<CollectorState>();
    auto store = Store::Open(tmp_.Join("db"));
    ASSERT_TRUE(store.ok()) << store.status();
    state_->store = std::move(*store);
    RegisterBuiltinChecks(state_->registry);
    for (const char* id : {"prod-01", "prod-02"}) {
      v1::InventoryHost* h = state_->settings.inventory.add_hosts();
      h->set_id(id);
      h->set_environment("production");
      h->add_roles("worker");
    }
    v1::Policy policy;
    policy.set_staleness_seconds(staleness_seconds_);
    state_->settings.policy = WithPolicyDefaults(policy);
    if (with_tls_) *state_->settings.config.mutable_tls() = pki_.CollectorTls();
    state_->IndexHosts();
  }

  void Report(const std::string& host, uint64_t seq, absl::Time at) {
    v1::FactReport r;
    r.set_host_id(host);
    r.set_agent_instance(kInstance);
    r.set_sequence(seq);
    r.set_collected_at_unix_ms(absl::ToUnixMillis(at));
    const v1::InventoryHost* h = state_->FindHost(host);
    auto done = state_->store->Ingest(host, r, at, [&](const v1::FactReport& report) {
      return Evaluate(state_->registry, *h, state_->settings.policy, report, at);
    });
    ASSERT_TRUE(done.ok()) << done.status();
  }

  // The watch at `now`; the events it appended.
  std::vector<v1::Event> Watch(absl::Time now) {
    const uint64_t before = state_->store->LastEventSeq();
    auto n = WatchForEvents(*state_, now);
    EXPECT_TRUE(n.ok()) << n.status();
    auto events = state_->store->EventsAfter(before, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<v1::Event> out;
    for (v1::Event& e : *events) {
      if (e.kind() != v1::Event::TRANSITION) out.push_back(std::move(e));
    }
    EXPECT_EQ(n.ok() ? *n : 0, out.size());
    return out;
  }

  static std::map<v1::Event::Kind, int> Kinds(const std::vector<v1::Event>& events) {
    std::map<v1::Event::Kind, int> out;
    for (const v1::Event& e : events) ++out[e.kind()];
    return out;
  }

  TempDir tmp_;
  TestPki pki_;
  // The policy's window (0: the default, 900 s) and whether the collector's
  // TLS files are configured, from the next Restart on.
  uint32_t staleness_seconds_ = 0;
  bool with_tls_ = false;
  std::unique_ptr<CollectorState> state_;
};

TEST_F(EventWatchTest, StaleAndFreshOnceEachAcrossARestart) {
  Report("prod-01", 1, kStart);
  Report("prod-02", 1, kStart);
  // The first look: the fleet verdict as it stands (not ready: the manual
  // items are not signed off), not a regression; nobody stale.
  std::vector<v1::Event> first = Watch(kStart + absl::Seconds(10));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind(), v1::Event::FLEET_VERDICT);
  EXPECT_EQ(first[0].to(), v1::FAIL);
  EXPECT_FALSE(first[0].regression());
  EXPECT_THAT(first[0].summary(), ::testing::HasSubstr("NOT READY"));
  EXPECT_TRUE(Watch(kStart + absl::Seconds(40)).empty());

  // prod-02 keeps reporting; prod-01 falls silent past the 900 s window.
  Report("prod-02", 2, kStart + absl::Seconds(800));
  std::vector<v1::Event> stale = Watch(kStart + absl::Seconds(1000));
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].kind(), v1::Event::HOST_STALE);
  EXPECT_EQ(stale[0].host_id(), "prod-01");
  EXPECT_EQ(stale[0].environment(), "production");
  EXPECT_TRUE(stale[0].regression());
  EXPECT_EQ(stale[0].dedup_key(), absl::StrCat("stale/prod-01/", absl::ToUnixMillis(kStart)));
  EXPECT_THAT(stale[0].summary(), ::testing::HasSubstr("has not reported since"));
  EXPECT_TRUE(Watch(kStart + absl::Seconds(1030)).empty());

  Restart();
  Report("prod-02", 3, kStart + absl::Seconds(1500));
  EXPECT_TRUE(Watch(kStart + absl::Seconds(1600)).empty());  // still stale: not again

  Report("prod-01", 2, kStart + absl::Seconds(1700));
  Report("prod-02", 4, kStart + absl::Seconds(1700));
  std::vector<v1::Event> fresh = Watch(kStart + absl::Seconds(1710));
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].kind(), v1::Event::HOST_FRESH);
  EXPECT_EQ(fresh[0].host_id(), "prod-01");
  EXPECT_FALSE(fresh[0].regression());
  Restart();
  EXPECT_TRUE(Watch(kStart + absl::Seconds(1740)).empty());
}

TEST_F(EventWatchTest, ExpiringThingsOncePerExpiry) {
  staleness_seconds_ = 10 * 365 * 86400;  // nobody goes stale here
  with_tls_ = true;
  Restart();
  const absl::Time now = absl::Now();
  Report("prod-01", 1, now);
  Report("prod-02", 1, now);
  (void)Watch(now);  // the first fleet verdict
  const std::string check = state_->registry.all()[0].info.id();

  v1::Waiver waiver;
  waiver.set_host_id("prod-01");
  waiver.set_check_id(check);
  waiver.set_operator_("spiffe://preflight.test/operator/ana");
  waiver.set_reason("vendor fix due");
  waiver.set_created_at_unix_ms(absl::ToUnixMillis(now));
  waiver.set_expires_at_unix_ms(absl::ToUnixMillis(now + absl::Hours(24 * 10)));
  ASSERT_TRUE(state_->store->PutWaiver(waiver, {"ana", "waive", "prod-01", "test"}, now).ok());
  // A waiver beyond the 14-day window: nothing yet.
  v1::Waiver later = waiver;
  later.set_host_id("prod-02");
  later.set_expires_at_unix_ms(absl::ToUnixMillis(now + absl::Hours(24 * 30)));
  ASSERT_TRUE(state_->store->PutWaiver(later, {"ana", "waive", "prod-02", "test"}, now).ok());
  v1::Attestation signoff;
  std::string manual;
  for (const Check& c : state_->registry.all()) {
    if (c.info.manual() && manual.empty()) manual = c.info.id();
  }
  signoff.set_check_id(manual);
  signoff.set_environment("production");
  signoff.set_operator_("spiffe://preflight.test/operator/ana");
  signoff.set_attested_at_unix_ms(absl::ToUnixMillis(now));
  signoff.set_expires_at_unix_ms(absl::ToUnixMillis(now + absl::Hours(24 * 5)));
  ASSERT_TRUE(state_->store->PutAttestation(signoff, {"ana", "attest", "x", "test"}, now).ok());
  // The CRL is re-signed for 2 days: within the 72 hours.
  pki_.ResignCrl(2);
  state_->revocation =
      std::make_unique<RevocationChecker>(pki_.crl(), pki_.ca(), [&] { return absl::Now(); });
  ASSERT_TRUE(state_->revocation->Load().ok());

  std::vector<v1::Event> told = Watch(now + absl::Minutes(1));
  std::map<v1::Event::Kind, int> kinds = Kinds(told);
  EXPECT_EQ(kinds[v1::Event::EXCEPTION_EXPIRING], 2);
  EXPECT_EQ(kinds[v1::Event::CRL_EXPIRING], 1);
  EXPECT_EQ(kinds[v1::Event::PKI_EXPIRING], 0);  // a year ahead
  for (const v1::Event& e : told) {
    EXPECT_TRUE(e.regression()) << e.ShortDebugString();
    if (e.kind() == v1::Event::EXCEPTION_EXPIRING && !e.host_id().empty()) {
      EXPECT_EQ(e.host_id(), "prod-01");
      EXPECT_EQ(e.dedup_key(),
                absl::StrCat("expiring/waiver/prod-01/", check, "/", waiver.expires_at_unix_ms()));
      EXPECT_THAT(e.summary(), ::testing::HasSubstr("expires on"));
    }
    if (e.kind() == v1::Event::CRL_EXPIRING) {
      EXPECT_THAT(e.summary(), ::testing::HasSubstr("re-sign it"));
    }
  }
  EXPECT_TRUE(Watch(now + absl::Hours(1)).empty());
  Restart();
  state_->revocation =
      std::make_unique<RevocationChecker>(pki_.crl(), pki_.ca(), [&] { return absl::Now(); });
  ASSERT_TRUE(state_->revocation->Load().ok());
  EXPECT_TRUE(Watch(now + absl::Hours(2)).empty());

  // Renewed: a new expiry date is a new occurrence, told once.
  waiver.set_expires_at_unix_ms(absl::ToUnixMillis(now + absl::Hours(24 * 12)));
  ASSERT_TRUE(state_->store->PutWaiver(waiver, {"ana", "waive", "prod-01", "renew"}, now).ok());
  std::vector<v1::Event> renewed = Watch(now + absl::Hours(3));
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_EQ(renewed[0].kind(), v1::Event::EXCEPTION_EXPIRING);
  EXPECT_TRUE(Watch(now + absl::Hours(4)).empty());

  // Near the collector certificate's end, the same warning preflightctl
  // status shows is told once (and the expired CRL no more than before).
  std::vector<OwnCertificateWarning> certs =
      OwnCertificateExpiries(state_->settings.config.tls(), now, absl::Hours(24 * 10000));
  ASSERT_FALSE(certs.empty());
  absl::Time first_end = absl::InfiniteFuture();
  for (const OwnCertificateWarning& c : certs) first_end = std::min(first_end, c.cert.not_after);
  const absl::Time late = first_end - absl::Hours(24 * 3);
  std::vector<v1::Event> pki = Watch(late);
  kinds = Kinds(pki);
  EXPECT_GE(kinds[v1::Event::PKI_EXPIRING], 1);
  EXPECT_EQ(kinds[v1::Event::CRL_EXPIRING], 0);
  for (const v1::Event& e : pki) {
    if (e.kind() != v1::Event::PKI_EXPIRING) continue;
    EXPECT_THAT(e.summary(), ::testing::HasSubstr("expires on"));
    EXPECT_THAT(e.dedup_key(), ::testing::StartsWith("expiring/pki/"));
  }
  const auto again = Kinds(Watch(late + absl::Hours(1)));
  EXPECT_EQ(again.count(v1::Event::PKI_EXPIRING), 0u);
}

// A swarm node no inventory host accounts for is told once while it stays
// unknown (across a restart); in the inventory it is forgotten, and told
// again if it turns up unknown once more.
TEST_F(EventWatchTest, UnknownSwarmNodeOnceWhileItStaysUnknown) {
  auto add_manager = [this] {
    v1::InventoryHost* m = state_->settings.inventory.add_hosts();
    m->set_id("mgr-01");
    m->set_environment("production");
    m->add_roles("manager");
    state_->IndexHosts();
  };
  add_manager();
  v1::FactReport r;
  r.set_host_id("mgr-01");
  r.set_agent_instance(kInstance);
  r.set_sequence(1);
  r.set_collected_at_unix_ms(absl::ToUnixMillis(kStart));
  v1::SwarmFact* swarm = r.mutable_swarm();
  swarm->mutable_collection()->set_state(v1::Collection::OK);
  swarm->set_manager(true);
  for (const auto& [name, addr] :
       {std::pair{"mgr-01", "10.0.0.1"}, {"prod-01", "10.0.0.2"}, {"rogue-7", "10.0.0.99"}}) {
    v1::SwarmNode* n = swarm->add_nodes();
    n->set_hostname(name);
    n->set_address(addr);
    n->set_role("worker");
    n->set_state("ready");
  }
  const v1::InventoryHost* h = state_->FindHost("mgr-01");
  auto done = state_->store->Ingest("mgr-01", r, kStart, [&](const v1::FactReport& report) {
    return Evaluate(state_->registry, *h, state_->settings.policy, report, kStart);
  });
  ASSERT_TRUE(done.ok()) << done.status();

  std::vector<v1::Event> first = Watch(kStart + absl::Seconds(10));
  ASSERT_EQ(Kinds(first)[v1::Event::UNKNOWN_NODE], 1);
  const v1::Event& node = *std::find_if(first.begin(), first.end(), [](const v1::Event& e) {
    return e.kind() == v1::Event::UNKNOWN_NODE;
  });
  EXPECT_EQ(node.host_id(), "mgr-01");
  EXPECT_EQ(node.environment(), "production");
  EXPECT_TRUE(node.regression());  // production gates
  EXPECT_THAT(node.summary(), ::testing::HasSubstr("rogue-7 (10.0.0.99"));
  EXPECT_THAT(node.summary(), ::testing::Not(::testing::HasSubstr("prod-01")));
  EXPECT_EQ(Kinds(Watch(kStart + absl::Seconds(40)))[v1::Event::UNKNOWN_NODE], 0);
  Restart();
  add_manager();
  EXPECT_EQ(Kinds(Watch(kStart + absl::Seconds(70)))[v1::Event::UNKNOWN_NODE], 0);

  // Into the inventory by address: forgotten; out again: told again.
  v1::InventoryHost* rogue = state_->settings.inventory.add_hosts();
  rogue->set_id("prod-07");
  rogue->set_environment("production");
  rogue->add_addresses("10.0.0.99");
  state_->IndexHosts();
  EXPECT_EQ(Kinds(Watch(kStart + absl::Seconds(100)))[v1::Event::UNKNOWN_NODE], 0);
  Restart();
  add_manager();
  EXPECT_EQ(Kinds(Watch(kStart + absl::Seconds(130)))[v1::Event::UNKNOWN_NODE], 1);
}

}  // namespace
}  // namespace preflight::collector
