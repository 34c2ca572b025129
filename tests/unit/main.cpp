// doctest entry point for the unit tests (every tests/unit/*.cpp links into one binary).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
