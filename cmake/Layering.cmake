# Runs cmake/check_layering.cmake over src/ as a build step that every layer
# library depends on: a wrong-way include fails the build before anything
# compiles. The glob re-runs when files are added, so new files are checked.
file(GLOB_RECURSE scsipub_layered_sources CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/src/*.h" "${PROJECT_SOURCE_DIR}/src/*.cc" "${PROJECT_SOURCE_DIR}/src/*.in")
set(scsipub_layering_stamp "${PROJECT_BINARY_DIR}/layering.stamp")
add_custom_command(
  OUTPUT "${scsipub_layering_stamp}"
  COMMAND "${CMAKE_COMMAND}" "-DSRC_DIR=${PROJECT_SOURCE_DIR}/src" "-DSTAMP=${scsipub_layering_stamp}"
          -P "${PROJECT_SOURCE_DIR}/cmake/check_layering.cmake"
  DEPENDS ${scsipub_layered_sources} "${PROJECT_SOURCE_DIR}/cmake/check_layering.cmake"
  COMMENT "Checking the include matrix of src/ (cmake/check_layering.cmake)"
  VERBATIM)
add_custom_target(scsipub_layering ALL DEPENDS "${scsipub_layering_stamp}")

# Call after the layer libraries exist.
function(scsipub_require_layering)
  foreach(lib IN LISTS ARGN)
    if(TARGET ${lib})
      add_dependencies(${lib} scsipub_layering)
    endif()
  endforeach()
endfunction()
