# The one definition of how a zoo plugin is built, used by this tree and, installed as lib/cmake/zoo/ZooPlugin.cmake,
# by plugins built outside it (find_package(zoo) includes it):
#   zoo_add_model_plugin(<name> SOURCES ... [TABLES <table.yaml> ...] [LIBS ...])
#   zoo_add_device_plugin(<name> SOURCES ... [LIBS ...])
# Each makes the MODULE library the runner's loader looks for (libzoo_model_<name>.so / libzoo_device_<name>.so),
# linked against zoo::sdk with hidden visibility (only the C entry point is exported) and -Wl,--no-undefined (a
# missing symbol fails the link, not the load). The build id the loader checks comes from the SDK headers themselves
# (zoo/abi.h and the generated zoo/sdk_digest.h); the language standard is the SDK's, since __cplusplus is part of it.
# A model plugin's TABLES are copied next to the plugin file, where the runner looks for tables it does not bundle.
# Plugins install into ${ZOO_PLUGIN_INSTALL_DIR} (default lib/zoo, the folder the runner searches beside its bin/);
# a folder that sets it empty installs nothing (this tree's examples).
include_guard(GLOBAL)

if(NOT DEFINED ZOO_PLUGIN_INSTALL_DIR)
  set(ZOO_PLUGIN_INSTALL_DIR lib/zoo)
endif()

function(_zoo_add_plugin kind name)
  cmake_parse_arguments(PARSE_ARGV 2 ARG "" "" "SOURCES;TABLES;LIBS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "zoo_add_${kind}_plugin(${name}): unexpected arguments '${ARG_UNPARSED_ARGUMENTS}' "
                        "(expected SOURCES ..., TABLES ... for models, LIBS ...)")
  endif()
  # The name is what users type (--model / --device) and part of the file name the loader parses.
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "zoo_add_${kind}_plugin: plugin name '${name}' must be lower-case letters, digits and '_', "
                        "starting with a letter")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "zoo_add_${kind}_plugin(${name}): no SOURCES")
  endif()
  if(NOT TARGET zoo::sdk)
    message(FATAL_ERROR "zoo_add_${kind}_plugin(${name}): target zoo::sdk is not defined; call find_package(zoo) first")
  endif()
  set(target zoo_${kind}_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE zoo::sdk ${ARG_LIBS})
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  set_target_properties(${target} PROPERTIES
    PREFIX lib
    OUTPUT_NAME zoo_${kind}_${name}
    SUFFIX .so
    CXX_STANDARD ${ZOO_CXX_STANDARD}
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)

  get_target_property(out_dir ${target} LIBRARY_OUTPUT_DIRECTORY)
  if(NOT out_dir)
    set(out_dir ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  foreach(table ${ARG_TABLES})
    get_filename_component(table_path ${table} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    if(NOT EXISTS ${table_path})
      message(FATAL_ERROR "zoo_add_${kind}_plugin(${name}): table '${table_path}' does not exist")
    endif()
    get_filename_component(table_name ${table_path} NAME)
    # configure_file re-runs when the table changes, so the copy beside the plugin never goes stale.
    configure_file(${table_path} ${out_dir}/${table_name} COPYONLY)
    if(ZOO_PLUGIN_INSTALL_DIR)
      install(FILES ${table_path} DESTINATION ${ZOO_PLUGIN_INSTALL_DIR})
    endif()
  endforeach()
  if(ZOO_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${ZOO_PLUGIN_INSTALL_DIR})
  endif()
  # Lets a test suite depend on every device plugin of the project without a list of them (tests/conformance).
  if(kind STREQUAL "device")
    set_property(GLOBAL APPEND PROPERTY ZOO_DEVICE_PLUGIN_TARGETS ${target})
  endif()
endfunction()

function(zoo_add_model_plugin name)
  _zoo_add_plugin(model ${name} ${ARGN})
endfunction()

function(zoo_add_device_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "TABLES")
  if(ARG_TABLES)
    message(FATAL_ERROR "zoo_add_device_plugin(${name}): TABLES are for model plugins (a device reads its hardware "
                        "description through DevicePlugin::hardware_table)")
  endif()
  _zoo_add_plugin(device ${name} ${ARGN})
endfunction()
