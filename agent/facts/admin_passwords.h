// Fact kind "admin_passwords" (checklist item 10): whether the national system
// administrator and the built-in super user still accept the passwords that
// ship with the country configuration and the core's seed. Off unless the
// agent's config enables application { admin_passwords: true }.
#ifndef PREFLIGHT_AGENT_FACTS_ADMIN_PASSWORDS_H_
#define PREFLIGHT_AGENT_FACTS_ADMIN_PASSWORDS_H_

#include <memory>

#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// The error of the admin_passwords kind when its source is off.
inline constexpr char kAdminPasswordsOff[] =
    "admin passwords is off: set application { admin_passwords: true } in the "
    "agent's config";

// Reads no other fact. Options: application_admin_passwords.
std::unique_ptr<FactCollector> MakeAdminPasswordsCollector();

} // namespace preflight::agent

#endif // PREFLIGHT_AGENT_FACTS_ADMIN_PASSWORDS_H_
