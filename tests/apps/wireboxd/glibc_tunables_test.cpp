#include <catch2/catch.hpp>

#include "apps/wireboxd/glibc_tunables.h"

using wirebox::tunables_without_rep_movsb;

TEST_CASE("GLIBC_TUNABLES gets the rep movsb threshold, keeping what the operator set", "[service]") {
  CHECK(tunables_without_rep_movsb(nullptr) == "glibc.cpu.x86_rep_movsb_threshold=0x4000000000");
  CHECK(tunables_without_rep_movsb("") == "glibc.cpu.x86_rep_movsb_threshold=0x4000000000");
  CHECK(tunables_without_rep_movsb("glibc.malloc.arena_max=2") ==
        "glibc.malloc.arena_max=2:glibc.cpu.x86_rep_movsb_threshold=0x4000000000");
  // Already set (by the operator, or by our own exec): nothing to do, so no second exec.
  CHECK_FALSE(tunables_without_rep_movsb("glibc.cpu.x86_rep_movsb_threshold=4096"));
  CHECK_FALSE(tunables_without_rep_movsb("glibc.malloc.arena_max=2:glibc.cpu.x86_rep_movsb_threshold=0x4000000000"));
}
