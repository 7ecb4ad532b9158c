# Debian packages from the normal build (included by the top-level
# CMakeLists.txt): `cpack -G DEB` in the build directory makes
#   preflight-agent      /usr/sbin/preflight-agent, /etc/preflight/agent.textproto
#   preflight-collector  /usr/sbin/preflight-collector, /usr/bin/preflightctl,
#                        /usr/bin/preflight-certs, /etc/preflight/{collector,
#                        policy,inventory}.textproto, the preflight system user
# each with its systemd unit (deploy/systemd/) and maintainer scripts
# (deploy/packaging/<component>/). tests/packaging/packages_test.sh builds,
# installs, checks and purges them.

# cpack (and `ninja install`) package what is built and never build: CI has
# built everything before the packaging test runs, and a second full build
# from inside a test would cost minutes.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(PREFLIGHT_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
set(PREFLIGHT_DEPLOY_DIR ${PROJECT_SOURCE_DIR}/deploy)

# preflight-certs with its version filled in from project(VERSION); run from
# the source tree it reads the version from CMakeLists.txt instead.
set(PREFLIGHT_CERTS_BUILT ${PROJECT_BINARY_DIR}/certs/preflight-certs)
add_custom_command(
  OUTPUT ${PREFLIGHT_CERTS_BUILT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/certs
  COMMAND sed "s/^PREFLIGHT_VERSION=$/PREFLIGHT_VERSION=${PROJECT_VERSION}/"
          ${PROJECT_SOURCE_DIR}/certs/preflight-certs > ${PREFLIGHT_CERTS_BUILT}
  COMMAND chmod 0755 ${PREFLIGHT_CERTS_BUILT}
  DEPENDS ${PROJECT_SOURCE_DIR}/certs/preflight-certs
  COMMENT "preflight-certs ${PROJECT_VERSION}"
  VERBATIM)
add_custom_target(preflight-certs ALL DEPENDS ${PREFLIGHT_CERTS_BUILT})

# Shell completion and man pages, written by the built programs from their
# flag tables (proto/wire/flags.h: BashCompletion, ManPage), so they say what
# --help says. SOURCE_DATE_EPOCH (the last commit's time when set by the
# caller) makes the man pages' dates reproducible.
set(PREFLIGHT_DOCS_BUILT ${PROJECT_BINARY_DIR}/docs)
set(PREFLIGHT_DOCS_FILES
  ${PREFLIGHT_DOCS_BUILT}/preflightctl.bash
  ${PREFLIGHT_DOCS_BUILT}/preflightctl.1.gz
  ${PREFLIGHT_DOCS_BUILT}/preflight-collector.8.gz
  ${PREFLIGHT_DOCS_BUILT}/preflight-agent.8.gz)
add_custom_command(
  OUTPUT ${PREFLIGHT_DOCS_FILES}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PREFLIGHT_DOCS_BUILT}
  COMMAND sh -c "$0 --completion=bash > $1" $<TARGET_FILE:preflightctl>
          ${PREFLIGHT_DOCS_BUILT}/preflightctl.bash
  COMMAND sh -c "$0 --man=1 | gzip -n9 > $1" $<TARGET_FILE:preflightctl>
          ${PREFLIGHT_DOCS_BUILT}/preflightctl.1.gz
  COMMAND sh -c "$0 --man=8 | gzip -n9 > $1" $<TARGET_FILE:preflight-collector>
          ${PREFLIGHT_DOCS_BUILT}/preflight-collector.8.gz
  COMMAND sh -c "$0 --man=8 | gzip -n9 > $1" $<TARGET_FILE:preflight-agent>
          ${PREFLIGHT_DOCS_BUILT}/preflight-agent.8.gz
  DEPENDS preflightctl preflight-collector preflight-agent
  COMMENT "bash completion and man pages from the flag tables"
  VERBATIM)
add_custom_target(preflight-docs ALL DEPENDS ${PREFLIGHT_DOCS_FILES})

include(GNUInstallDirs)
set(PREFLIGHT_ETC /etc/preflight)

# --- preflight-agent
install(TARGETS preflight-agent RUNTIME DESTINATION sbin COMPONENT agent)
install(FILES ${PREFLIGHT_DEPLOY_DIR}/agent.textproto DESTINATION ${PREFLIGHT_ETC}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT agent)
install(FILES ${PREFLIGHT_DEPLOY_DIR}/systemd/preflight-agent.service
        DESTINATION /lib/systemd/system COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/preflight-agent
        COMPONENT agent)
install(FILES ${PREFLIGHT_DOCS_BUILT}/preflight-agent.8.gz DESTINATION share/man/man8
        COMPONENT agent)

# --- preflight-collector (with preflightctl and preflight-certs)
install(TARGETS preflight-collector RUNTIME DESTINATION sbin COMPONENT collector)
install(TARGETS preflightctl RUNTIME DESTINATION bin COMPONENT collector)
install(FILES ${PREFLIGHT_DOCS_BUILT}/preflightctl.bash
        DESTINATION share/bash-completion/completions RENAME preflightctl COMPONENT collector)
install(FILES ${PREFLIGHT_DOCS_BUILT}/preflightctl.1.gz DESTINATION share/man/man1
        COMPONENT collector)
install(FILES ${PREFLIGHT_DOCS_BUILT}/preflight-collector.8.gz DESTINATION share/man/man8
        COMPONENT collector)
install(PROGRAMS ${PREFLIGHT_CERTS_BUILT} DESTINATION bin COMPONENT collector)
install(FILES ${PREFLIGHT_DEPLOY_DIR}/collector.textproto ${PREFLIGHT_DEPLOY_DIR}/policy.textproto
              ${PREFLIGHT_DEPLOY_DIR}/inventory.textproto
        DESTINATION ${PREFLIGHT_ETC}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT collector)
# preflight-crl.timer re-signs the CRL on the CA machine: shipped, not enabled.
install(FILES ${PREFLIGHT_DEPLOY_DIR}/systemd/preflight-collector.service
              ${PREFLIGHT_DEPLOY_DIR}/systemd/preflight-crl.service
              ${PREFLIGHT_DEPLOY_DIR}/systemd/preflight-crl.timer
        DESTINATION /lib/systemd/system COMPONENT collector)
install(FILES ${PREFLIGHT_PACKAGING_DIR}/preflight-collector.sysusers
        DESTINATION lib/sysusers.d RENAME preflight-collector.conf COMPONENT collector)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/preflight-collector
        COMPONENT collector)
install(FILES ${PROJECT_SOURCE_DIR}/certs/README.md DESTINATION share/doc/preflight-collector/certs
        COMPONENT collector)

# --- CPack: one .deb per component
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_NAME preflight)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "preflight maintainers <preflight@opencrvs.example.gov>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OpenCRVS go-live readiness checks")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent collector)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
# Library dependencies from dpkg-shlibdeps; the binaries lose their debug
# information in the package (the build tree keeps it).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME preflight-agent)
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "preflight agent: reports this server's OpenCRVS go-live readiness facts\n"
    "Reads sshd, PAM, accounts, authorized keys, shell history, firewall, sockets,\n"
    "disks, logrotate, TLS and backup state and streams it over mutual TLS to the\n"
    "preflight collector. It never judges and never sends secrets.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    ${PREFLIGHT_PACKAGING_DIR}/agent/conffiles ${PREFLIGHT_PACKAGING_DIR}/agent/postinst
    ${PREFLIGHT_PACKAGING_DIR}/agent/prerm ${PREFLIGHT_PACKAGING_DIR}/agent/postrm)

set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME preflight-collector)
set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION
    "preflight collector, preflightctl and preflight-certs\n"
    "The collector accepts agents' reports over mutual TLS, evaluates the OpenCRVS\n"
    "go-live readiness checks and keeps history and a tamper-evident audit trail in\n"
    "RocksDB. preflightctl is the operators' CLI; preflight-certs the PKI tool.")
# preflight-certs is a bash script over the openssl CLI.
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "openssl, adduser | systemd")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_CONTROL_EXTRA
    ${PREFLIGHT_PACKAGING_DIR}/collector/conffiles ${PREFLIGHT_PACKAGING_DIR}/collector/postinst
    ${PREFLIGHT_PACKAGING_DIR}/collector/prerm ${PREFLIGHT_PACKAGING_DIR}/collector/postrm)

include(CPack)
