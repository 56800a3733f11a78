# Debian packages of the same build: `cpack -G DEB` (or the `package`
# target) in a build configured with -DCMAKE_INSTALL_PREFIX=/usr. The split
# and the reasons for it are in packaging/README.md; scripts/package-test.sh
# builds, checks, installs and removes them.

# spank_cr.so runs only in the Slurm release it was built against: Slurm
# refuses a SPANK plugin of another major.minor, and the plugin does not
# link libslurm, so no library dependency says so. The bounds come from the
# slurm_version.h the plugin was compiled with.
find_file(CR_SLURM_VERSION_H slurm/slurm_version.h HINTS ${SLURM_INCLUDE_DIR} REQUIRED)
file(STRINGS ${CR_SLURM_VERSION_H} line REGEX "^#define SLURM_VERSION_NUMBER ")
string(REGEX MATCH "0x[0-9a-fA-F]+" num "${line}")
if(NOT num)
	message(FATAL_ERROR "no SLURM_VERSION_NUMBER in ${CR_SLURM_VERSION_H}")
endif()
math(EXPR slurm_major "(${num} >> 16) & 0xff")
math(EXPR slurm_minor "(${num} >> 8) & 0xff")
math(EXPR slurm_next "${slurm_minor} + 1")
# Debian's slurm-wlm spells the minor release with two digits (22.05).
foreach(v slurm_minor slurm_next)
	if(${v} LESS 10)
		set(${v} "0${${v}}")
	endif()
endforeach()
# slurm-wlm-basic-plugins owns the plugin directory and plugstack.conf.d,
# and slurmd and slurm-client each depend on exactly their own version of it:
# bounding it bounds whichever of them the host runs.
set(slurm_pkg slurm-wlm-basic-plugins)
set(CR_SLURM_DEPENDS
	"${slurm_pkg} (>= ${slurm_major}.${slurm_minor}), ${slurm_pkg} (<< ${slurm_major}.${slurm_next})")

set(CPACK_PACKAGE_NAME slurm-cr)
set(CPACK_PACKAGE_VENDOR "slurm-cr developers")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "slurm-cr developers <dev@slurm-cr.invalid>")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL client node)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://slurm-cr.invalid/")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME slurm-cr-client)
set(CPACK_DEBIAN_CLIENT_PACKAGE_DEPENDS "${CR_SLURM_DEPENDS}, slurm-client, munge")
set(CPACK_COMPONENT_CLIENT_DESCRIPTION "checkpoint/restart for Slurm jobs: plugin and crctl
slurm-cr checkpoints a running Slurm batch job (its whole process tree, on
every node) into shared storage, and resumes it from there when Slurm
requeues it after a node failure, a preemption or an evacuation.

This package is for every host that submits, runs or manages jobs: the
SPANK plugin spank_cr.so with its plugstack.conf.d line (sbatch
--checkpoint), crctl (checkpoint, restart, evacuate) and an scontrol shim
for scontrol checkpoint. Compute nodes also need slurm-cr-node.")
set(CPACK_DEBIAN_CLIENT_PACKAGE_CONTROL_EXTRA
	${CMAKE_BINARY_DIR}/packaging/client/postinst
	${CMAKE_BINARY_DIR}/packaging/client/postrm)

set(CPACK_DEBIAN_NODE_PACKAGE_NAME slurm-cr-node)
set(CPACK_COMPONENT_NODE_DEPENDS client)
set(CPACK_DEBIAN_NODE_PACKAGE_DEPENDS "munge")
set(CPACK_COMPONENT_NODE_DESCRIPTION "checkpoint/restart for Slurm jobs: node agent
slurm-cr checkpoints a running Slurm batch job (its whole process tree, on
every node) into shared storage, and resumes it from there when Slurm
requeues it after a node failure, a preemption or an evacuation.

This package is for compute nodes: crd, the agent that runs each
checkpointable job in a container and dumps and restores it, its systemd
unit (not enabled: configure /etc/slurm/cr.conf first), the cr tool that
checkpoints and restarts a process tree, and cr-rsh, the launch agent of
mpirun and mpiexec inside checkpointable jobs.")
set(CPACK_DEBIAN_NODE_PACKAGE_CONTROL_EXTRA
	${CMAKE_BINARY_DIR}/packaging/node/postinst
	${CMAKE_BINARY_DIR}/packaging/node/prerm
	${CMAKE_BINARY_DIR}/packaging/node/postrm)

# Maintainer scripts and per-package documentation (copyright, changelog).
set(pkgsrc ${CMAKE_CURRENT_LIST_DIR}/debian)
set(CR_PLUGSTACK_LINK ${CR_SLURM_CONF_DIR}/plugstack.conf.d/slurm-cr.conf)
set(CR_PLUGSTACK_FILE ${CMAKE_INSTALL_FULL_DATADIR}/slurm-cr/plugstack.conf)
foreach(f node/postinst node/prerm node/postrm client/postinst client/postrm)
	configure_file(${pkgsrc}/${f}.in ${CMAKE_BINARY_DIR}/packaging/${f} @ONLY)
endforeach()
install(FILES ${pkgsrc}/slurm-cr.tmpfiles DESTINATION ${CR_TMPFILES_DIR}
	RENAME slurm-cr.conf COMPONENT node)
# string(TIMESTAMP) honours SOURCE_DATE_EPOCH: reproducible builds get a fixed date.
string(TIMESTAMP cr_now "%a, %d %b %Y %H:%M:%S +0000" UTC)
# A package's own copyright and changelog: not for a /usr/local install.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
	foreach(c client node)
		set(CR_PKG slurm-cr-${c})
		configure_file(${pkgsrc}/changelog.Debian.in ${CMAKE_BINARY_DIR}/packaging/${c}/changelog.Debian @ONLY)
		add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/${c}/changelog.Debian.gz
			COMMAND gzip -9nc ${CMAKE_BINARY_DIR}/packaging/${c}/changelog.Debian
				> ${CMAKE_BINARY_DIR}/packaging/${c}/changelog.Debian.gz
			DEPENDS ${CMAKE_BINARY_DIR}/packaging/${c}/changelog.Debian VERBATIM)
		add_custom_target(changelog-${c} ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/${c}/changelog.Debian.gz)
		install(FILES ${pkgsrc}/copyright ${CMAKE_BINARY_DIR}/packaging/${c}/changelog.Debian.gz
			DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${CR_PKG} COMPONENT ${c})
	endforeach()
endif()

# A package holds exactly what the build installs: refuse to package a
# build whose compiled-in paths (the unit's ExecStart, LaunchAgent's
# default) are not the package's, or one with the test hooks.
set(CR_PACKAGE_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CR_PACKAGE_TEST_HOOKS ${CR_TEST_HOOKS})
configure_file(${CMAKE_CURRENT_LIST_DIR}/cpack-check.cmake.in
	${CMAKE_BINARY_DIR}/packaging/cpack-check.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/packaging/cpack-check.cmake)

include(CPack)
