# What `cmake --install` lays out for plugin authors beside the runner (bin/) and its plugins (lib/zoo/):
#   include/zoo/...            the SDK headers, the generated zoo/sdk_digest.h, the model blocks in zoo/blocks/
#   lib/libzoo_sdk.a, lib/libzoo_model_blocks.a
#   lib/cmake/zoo/             zooConfig.cmake, zooConfigVersion.cmake, zooTargets*.cmake, ZooPlugin.cmake
include(CMakePackageConfigHelpers)

set(ZOO_CMAKE_INSTALL_DIR lib/cmake/zoo)
set(ZOO_BOOST_MIN_VERSION 1.74)

install(TARGETS zoo_sdk zoo_model_blocks EXPORT zooTargets ARCHIVE DESTINATION lib)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/plugins/include/zoo DESTINATION include)
install(FILES ${ZOO_SDK_DIGEST_HEADER} DESTINATION include/zoo)
file(GLOB ZOO_MODEL_BLOCKS_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/models/blocks/*.hpp)
install(FILES ${ZOO_MODEL_BLOCKS_HEADERS} DESTINATION include/zoo/blocks)
install(EXPORT zooTargets NAMESPACE zoo:: DESTINATION ${ZOO_CMAKE_INSTALL_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/zooConfig.cmake.in ${CMAKE_BINARY_DIR}/cmake/zooConfig.cmake
                              INSTALL_DESTINATION ${ZOO_CMAKE_INSTALL_DIR})
# 0.x: a minor release may change the SDK. (The runner checks the header digest exactly in any case.)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/zooConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/zooConfig.cmake ${CMAKE_BINARY_DIR}/cmake/zooConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/ZooPlugin.cmake
        DESTINATION ${ZOO_CMAKE_INSTALL_DIR})
