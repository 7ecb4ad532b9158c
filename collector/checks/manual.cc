// Check area "manual": checklist items no machine can see. Each is PENDING
// until an operator signs it off per environment with `preflightctl attest`
// (see BuildFleetStatus). backup.restore_verified (backups.cc) and
// alert.ssh_login (alerts.cc) live with the facts that are their evidence.
#include <string>
#include <vector>

#include "collector/checks/check.h"

namespace preflight::collector {
namespace {

struct ManualItem {
  const char* id;
  uint32_t item;
  const char* title;
  std::vector<std::string> environments;
  const char* remediation;
};

}  // namespace

void RegisterManualChecks(CheckRegistry& registry) {
  const std::vector<ManualItem> items = {
      {"pipelines.green",
       1,
       "Deployment pipelines are green",
       {"production", "staging"},
       "Run the country's deploy, provision and seed workflows on GitHub Actions; sign off with "
       "a link to the green runs."},
      {"smtp.tested",
       2,
       "SMTP tested for emails and alerts",
       {"production"},
       "Send a test notification and a test alert through the configured SMTP server; sign off "
       "with where they arrived."},
      {"alert.disk_tested",
       8,
       "The disk usage alert fired in a test",
       {"production"},
       "Trigger the Kibana disk alert (rules are enabled on each deploy) and confirm the email."},
      {"sentry.slack",
       9,
       "Sentry errors reach Slack",
       {"production"},
       "Raise a test error and confirm it reaches the Slack channel."},
      {"admin.password_changed",
       10,
       "The national system admin password was changed",
       {"production"},
       "Log in as the national system admin created by seeding and change the password."},
      {"github.ownership",
       11,
       "The GitHub organisation is owned by the country",
       {"production"},
       "Remove vendor owners and admins from the country's GitHub organisation and "
       "environments."},
      {"data.test_cleared",
       15,
       "Test data cleared from production",
       {"production"},
       "Reset production's data (the documented clear-all procedure) before go-live and "
       "confirm no test records remain."},
  };
  for (const ManualItem& m : items) {
    Check c;
    c.info.set_id(m.id);
    c.info.set_title(m.title);
    c.info.set_checklist_item(m.item);
    c.info.set_severity(v1::BLOCKER);
    c.info.set_manual(true);
    for (const std::string& env : m.environments) c.info.add_environments(env);
    c.info.set_remediation(m.remediation);
    registry.Add(std::move(c));
  }
}

}  // namespace preflight::collector
