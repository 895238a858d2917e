#!/usr/bin/env bash
# The installed SDK as a plugin author outside this tree meets it (issue 10, item 4):
#  1. `cmake --install` into a fresh prefix; examples/tinynet configured with find_package(zoo) and built out of tree;
#     the installed runner runs it from --plugin-dir and reports VALID, with the table copied beside the plugin;
#  2. the same plugin built against headers of another SDK (the digest edited in a copy of the prefix) is refused by
#     name, with both build ids, and cannot be run;
#  3. `runner new-plugin model|device` skeletons build against the prefix and load; the model runs on cpu, the device
#     runs a one-op graph and agrees with cpu; bad names and non-empty folders are usage errors (exit 2).
# usage: out_of_tree_test.sh <build dir> <source dir> <c++ compiler>
set -u
build=$1 source=$2 cxx=$3
work=$(mktemp -d /tmp/zoo_sdk_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # check <description> <command...>: runs it, counts a failure
    local what=$1; shift
    if "$@"; then echo "ok:   $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
contains() { grep -qF -- "$2" "$1" || { echo "  '$2' not in $1:"; sed 's/^/    /' "$1"; return 1; }; }
configure_and_build() {  # <source> <binary dir> <prefix>
    cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$3" \
        > "$2.configure.log" 2>&1 && cmake --build "$2" > "$2.build.log" 2>&1 ||
        { cat "$2.configure.log" "$2.build.log" 2>/dev/null; return 1; }
}

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
runner=$prefix/bin/runner
for f in lib/libzoo_sdk.a lib/libzoo_model_blocks.a include/zoo/abi.h include/zoo/sdk_digest.h \
         include/zoo/blocks/mobilenet_blocks.hpp lib/cmake/zoo/zooConfig.cmake lib/cmake/zoo/zooConfigVersion.cmake \
         lib/cmake/zoo/ZooPlugin.cmake; do
    check "installed $f" test -f "$prefix/$f"
done
# The installed digest is the one the runner was built with (sdk-<digest> ends its build id).
digest=$(sed -n 's/^#define ZOO_SDK_DIGEST "\([0-9a-f]*\)"$/\1/p' "$prefix/include/zoo/sdk_digest.h")
check "digest is 12 hex digits ('$digest')" test ${#digest} -eq 12

# 1. tinynet out of tree.
check "examples/tinynet builds against the prefix" configure_and_build "$source/examples/tinynet" "$work/tinynet" "$prefix"
check "table copied beside the plugin" test -f "$work/tinynet/tinynet.yaml"
"$runner" --plugin-dir "$work/tinynet" run --model tinynet --device cpu --input random --report "$work/tinynet.json" \
    > "$work/tinynet.out" 2>&1
check "runner runs the out-of-tree tinynet (exit 0)" test $? -eq 0
check "run reports VALID" contains "$work/tinynet.out" "Result:      VALID"
check "run read the table beside the plugin" contains "$work/tinynet.out" "table $work/tinynet/tinynet.yaml"
check "report names the out-of-tree plugin file" contains "$work/tinynet.json" "$work/tinynet/libzoo_model_tinynet.so"
check "its build id carries the installed digest" contains "$work/tinynet.json" "/sdk-$digest\""

# 2. Built against another SDK's headers: refused by name.
cp -r "$prefix" "$work/other_sdk"
sed -i "s/\"$digest\"/\"000000000000\"/" "$work/other_sdk/include/zoo/sdk_digest.h"
check "tinynet builds against the other SDK" configure_and_build "$source/examples/tinynet" "$work/stale" "$work/other_sdk"
"$runner" --plugin-dir "$work/stale" list > "$work/stale_list.out" 2>&1
check "list names the refused plugin" contains "$work/stale_list.out" "$work/stale/libzoo_model_tinynet.so"
check "list says why (its build id)" contains "$work/stale_list.out" "/sdk-000000000000"
"$runner" --plugin-dir "$work/stale" run --model tinynet --device cpu --input random > "$work/stale_run.out" 2>&1
check "run of the refused plugin fails (exit 1)" test $? -eq 1
check "run names the plugin and the mismatch" contains "$work/stale_run.out" \
    "plugin $work/stale/libzoo_model_tinynet.so: was built with a different toolchain or SDK"

# 3. new-plugin skeletons.
"$runner" new-plugin model my_model "$work/my_model" > "$work/new_model.out" 2>&1
check "new-plugin model (exit 0)" test $? -eq 0
check "new-plugin prints this prefix to build against" contains "$work/new_model.out" "-DCMAKE_PREFIX_PATH=$prefix"
"$runner" new-plugin device my_device "$work/my_device" > /dev/null 2>&1
check "new-plugin device (exit 0)" test $? -eq 0
check "model skeleton builds" configure_and_build "$work/my_model" "$work/my_model/build" "$prefix"
check "device skeleton builds" configure_and_build "$work/my_device" "$work/my_device/build" "$prefix"
dirs=(--plugin-dir "$work/my_model/build" --plugin-dir "$work/my_device/build")
"$runner" "${dirs[@]}" list --json > "$work/list.json" 2>&1
check "list shows both, loaded" /usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
rows = [p for kind in ("models", "devices") for p in doc.get(kind, [])]
got = {p["name"]: p for p in rows}
ok = all(n in got and got[n].get("usable") is True for n in ("my_model", "my_device"))
sys.exit(0 if ok else "list --json: %s" % json.dumps(rows, indent=1))' "$work/list.json"
"$runner" "${dirs[@]}" run --model my_model --device cpu --input random > "$work/my_model.out" 2>&1
check "model skeleton runs on cpu" contains "$work/my_model.out" "Result:      VALID"
"$runner" "${dirs[@]}" compare --model opcase --set op=avgpool --device my_device --reference cpu --input random \
    > "$work/my_device.out" 2>&1
check "device skeleton runs a pool and agrees with cpu" contains "$work/my_device.out" "Output 0: PCC 1.000000"
"$runner" "${dirs[@]}" compare --model opcase --device my_device --reference cpu --input random > "$work/conv.out" 2>&1
check "device skeleton runs a conv (through the SDK reference) and agrees with cpu" contains "$work/conv.out" "Output 0: PCC 1.000000"
"$runner" "${dirs[@]}" compare --model my_model --device my_device --reference cpu --input random > "$work/both.out" 2>&1
check "model skeleton runs on the device skeleton" contains "$work/both.out" "Output 0: PCC 1.000000"

"$runner" new-plugin model my_model "$work/my_model" > "$work/again.out" 2>&1
check "non-empty folder: exit 2" test $? -eq 2
check "non-empty folder: says so" contains "$work/again.out" "is not empty"
"$runner" new-plugin model My-Model "$work/bad" > "$work/bad.out" 2>&1
check "bad name: exit 2" test $? -eq 2
check "bad name: says what a name is" contains "$work/bad.out" "plugin name 'My-Model' must be"
check "bad name: writes nothing" test ! -e "$work/bad"

echo "$failures failure(s)"
exit $((failures > 0))
