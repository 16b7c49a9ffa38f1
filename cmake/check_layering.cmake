# The include matrix of src/: which layer's headers each layer may include.
# Run as a build step (cmake -P, see cmake/Layering.cmake), so a wrong-way
# include fails the build even when the header is header-only and nothing
# would fail to link. This table is the one place the layering is decided;
# docs/ARCHITECTURE.md describes it.
#
#   cmake -DSRC_DIR=<dir with one folder per layer> [-DSTAMP=<file>] -P check_layering.cmake
#
# Lower layers first. A layer may include itself and what is listed.
cmake_minimum_required(VERSION 3.20)  # IN_LIST (CMP0057) in script mode

set(allowed_common  "common")
set(allowed_storage "common;storage")
set(allowed_db      "common;db")
set(allowed_ingest  "common;ingest")
set(allowed_lu      "common;storage;lu")
set(allowed_scsi    "common;storage;lu;scsi")
set(allowed_iscsi   "common;lu;scsi;iscsi")
set(allowed_control "common;storage;db;lu;scsi;iscsi;control")
set(allowed_net     "common;iscsi;net")
set(allowed_web     "common;db;iscsi;control;web")
set(allowed_app     "common;storage;db;ingest;lu;scsi;iscsi;control;net;web;app")
set(layers common storage db ingest lu scsi iscsi control net web app)

if(NOT SRC_DIR)
  message(FATAL_ERROR "check_layering: SRC_DIR not set")
endif()
get_filename_component(SRC_DIR "${SRC_DIR}" ABSOLUTE)

set(violations "")
file(GLOB layer_dirs LIST_DIRECTORIES true RELATIVE "${SRC_DIR}" "${SRC_DIR}/*")
foreach(layer IN LISTS layer_dirs)
  if(NOT IS_DIRECTORY "${SRC_DIR}/${layer}")
    continue()
  endif()
  if(NOT layer IN_LIST layers)
    # A new folder must be placed in the matrix before it builds.
    string(APPEND violations "  src/${layer}/: a layer the include matrix does not know (cmake/check_layering.cmake)\n")
    continue()
  endif()
  file(GLOB_RECURSE files "${SRC_DIR}/${layer}/*.h" "${SRC_DIR}/${layer}/*.cc" "${SRC_DIR}/${layer}/*.in")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([a-z_]+)/.*$" "\\1" target "${line}")
      if(NOT target IN_LIST layers)
        continue()  # not one of ours
      endif()
      if(NOT target IN_LIST allowed_${layer})
        file(RELATIVE_PATH rel "${SRC_DIR}" "${file}")
        string(STRIP "${line}" line)
        string(APPEND violations "  src/${rel}: ${line} (${layer} may include: ${allowed_${layer}})\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "wrong-way includes (layers only call downward):\n${violations}")
endif()
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
