# The Debian package: install rules (the one list of what is installed where),
# man pages made from the CLI's own help, and CPack's DEB generator.
# Built by scripts/build-deb.sh; why CPack and what the package does:
# docs/PACKAGING.md.
include(GNUInstallDirs)

option(SCSIPUB_PACKAGING "Packaging build: help2man is required and the man pages are part of 'all'" OFF)
set(SCSIPUB_DEB_RELEASE 1 CACHE STRING "Debian revision of the package (VERSION-RELEASE)")
set(SCSIPUB_DEB_MAINTAINER "scsipub maintainers <maintainers@scsipub.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(_pkg_src ${PROJECT_SOURCE_DIR}/packaging)
set(_pkg_out ${PROJECT_BINARY_DIR}/packaging)
set(_pkg_all)
if(SCSIPUB_PACKAGING)
  set(_pkg_all ALL)
  # cpack must not build every target first (bench, tests): scripts/build-deb.sh
  # builds what the package holds, the install rules check it is there.
  set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
endif()

# Files the package holds, in the order dpkg shows them.
install(TARGETS scsipub RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(SCSIPUB_PACKAGING)
  # Stripped as dh_strip would: no symbols, no compiler-version .comment.
  install(CODE "execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-unneeded --remove-section=.comment
    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/scsipub\" COMMAND_ERROR_IS_FATAL ANY)")
endif()
install(FILES ${_pkg_src}/scsipub.toml DESTINATION /etc/scsipub)
install(FILES ${_pkg_src}/scsipub.service DESTINATION /lib/systemd/system)
install(FILES ${_pkg_src}/debian/scsipub.lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME scsipub)
if(SCSIPUB_PACKAGING)
  # Debian's hardening: GOT read-only after start-up (lintian hardening-no-bindnow).
  target_link_options(scsipub PRIVATE LINKER:-z,relro LINKER:-z,now)
endif()

# Man pages: help2man over the built binary's --help, one page per
# subcommand (packaging/make-man-pages.sh finds them in `scsipub --help`).
# Optional outside packaging builds: without help2man the target does not exist.
find_program(SCSIPUB_HELP2MAN help2man)
if(SCSIPUB_PACKAGING AND NOT SCSIPUB_HELP2MAN)
  message(FATAL_ERROR "SCSIPUB_PACKAGING needs help2man (apt-get install help2man)")
endif()
if(SCSIPUB_HELP2MAN)
  add_custom_command(OUTPUT ${_pkg_out}/man.stamp
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${_pkg_out}/man
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_pkg_out}/man
    COMMAND ${_pkg_src}/make-man-pages.sh $<TARGET_FILE:scsipub> ${_pkg_out}/man ${SCSIPUB_HELP2MAN}
    COMMAND ${CMAKE_COMMAND} -E touch ${_pkg_out}/man.stamp
    DEPENDS scsipub ${_pkg_src}/make-man-pages.sh
    COMMENT "Man pages from scsipub --help (help2man)"
    VERBATIM)
  add_custom_target(scsipub_man ${_pkg_all} DEPENDS ${_pkg_out}/man.stamp)
  install(DIRECTORY ${_pkg_out}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1.gz")
endif()

# /usr/share/doc/scsipub: copyright as is; changelog and docs gzipped (-n:
# no name or time in the header, so a rebuild makes the same bytes).
set(_pkg_docs)
foreach(pair IN ITEMS "packaging/debian/changelog=changelog.Debian.gz" "README.md=README.md.gz"
                      "docs/SECURITY.md=SECURITY.md.gz" "docs/PACKAGING.md=PACKAGING.md.gz")
  string(REPLACE "=" ";" pair ${pair})
  list(GET pair 0 _in)
  list(GET pair 1 _out)
  add_custom_command(OUTPUT ${_pkg_out}/doc/${_out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_pkg_out}/doc
    COMMAND sh -c "gzip -9n -c \"$1\" > \"$2\"" sh ${PROJECT_SOURCE_DIR}/${_in} ${_pkg_out}/doc/${_out}
    DEPENDS ${PROJECT_SOURCE_DIR}/${_in}
    VERBATIM)
  list(APPEND _pkg_docs ${_pkg_out}/doc/${_out})
endforeach()
add_custom_target(scsipub_package_docs ${_pkg_all} DEPENDS ${_pkg_docs})
install(FILES ${_pkg_src}/debian/copyright ${_pkg_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR} OPTIONAL)

if(SCSIPUB_PACKAGING)
  # A package without its man pages or docs is a broken package: fail the install, not later.
  install(CODE "
    foreach(f \"${_pkg_out}/man.stamp\" ${_pkg_docs})
      if(NOT EXISTS \"\${f}\")
        message(FATAL_ERROR \"\${f} is missing: build the targets scsipub_man and scsipub_package_docs first (scripts/build-deb.sh)\")
      endif()
    endforeach()")
  # The changelog's top entry names the version being packaged.
  file(STRINGS ${_pkg_src}/debian/changelog _top LIMIT_COUNT 1)
  if(NOT _top MATCHES "^scsipub \\(${PROJECT_VERSION}-${SCSIPUB_DEB_RELEASE}\\) ")
    message(FATAL_ERROR "packaging/debian/changelog starts with '${_top}', "
                        "expected an entry for ${PROJECT_VERSION}-${SCSIPUB_DEB_RELEASE}")
  endif()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME scsipub)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR scsipub)
set(CPACK_PACKAGE_CONTACT "${SCSIPUB_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "iSCSI targets on the public internet")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${SCSIPUB_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SCSIPUB_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The long description; CPack puts the summary above it and indents it.
set(CPACK_PACKAGE_DESCRIPTION "scsipub serves disk images and per-initiator blank disks over iSCSI (plain
and TLS) to anonymous initiators, and provisioned disks with CHAP to
accounts of an HTTP session API, with the limits a public service needs.

The package runs it as the unprivileged scsipub user from a sandboxed
systemd unit, listening on 127.0.0.1 until /etc/scsipub/scsipub.toml says
otherwise.")
# Library dependencies from dpkg-shlibdeps; adduser for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# What scsipub runs itself: qemu-img (qemu-utils) for image imports of
# qcow2/vmdk/vhdx/vdi..., xz and zstd for compressed sources (gzip is essential).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qemu-utils, xz-utils, zstd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "certbot")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_pkg_src}/debian/conffiles ${_pkg_src}/debian/postinst ${_pkg_src}/debian/prerm ${_pkg_src}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
