// The messaging library (issue 18): every scenario in scenarios/messaging/ says in its header which
// verdict tracerig must give (verdict_header.h), and must give it on both brokers: the embedded one
// and a real RabbitMQ the test starts itself. Run through the real binary and the embedded backend.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/cli/verdict_header.h"
#include "tests/cli/verdict_run.h"
#include "tests/support/rabbitmq_server.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::Expectation;
using tracerig::testing::HeaderRules;
using tracerig::testing::LibraryIn;
using tracerig::testing::RunAndExpectVerdict;
using tracerig::testing::ScenarioTestName;

const char* const kLibrary = "scenarios/messaging";

std::vector<Expectation> Library() {
  return LibraryIn(kLibrary, HeaderRules{.require_report = false});
}

std::string Name(const ::testing::TestParamInfo<Expectation>& info) {
  return ScenarioTestName(info.param);
}

class MessagingTest : public ::testing::TestWithParam<Expectation> {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-messaging");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(MessagingTest, EmbeddedBrokerGivesTheVerdictItsHeaderStates) {
  RunAndExpectVerdict(kLibrary, GetParam(), dir_);
}

// The same file on a real RabbitMQ (a private node this test binary starts on free ports, shared by
// its tests): the same verdict, the same edge.
TEST_P(MessagingTest, RabbitMqGivesTheSameVerdict) {
  const tracerig::test_support::SharedRabbitMq& rabbit =
      tracerig::test_support::SharedRabbitMqServer();
  if (!rabbit.skip_reason.empty()) GTEST_SKIP() << rabbit.skip_reason;
  ASSERT_TRUE(rabbit.failure.empty()) << rabbit.failure;
  RunAndExpectVerdict(kLibrary, GetParam(), dir_, {"--broker", rabbit.url});
}

INSTANTIATE_TEST_SUITE_P(EveryScenario, MessagingTest, ::testing::ValuesIn(Library()), Name);

// Without this, an empty or missing directory would instantiate nothing and pass silently.
TEST(MessagingLibraryTest, HoldsThePipelineAndOneFilePerMessagingFault) {
  const std::vector<Expectation> all = Library();
  std::set<std::string> files;
  for (const Expectation& e : all) {
    EXPECT_TRUE(e.error.empty()) << e.file << ": " << e.error;
    files.insert(e.file);
  }
  for (const char* file :
       {"order-pipeline.toml", "consumer-new-trace.toml", "dlq-drops-headers.toml",
        "retry-duplicates-headers.toml", "batch-first-parent-only.toml", "link-missing.toml"}) {
    EXPECT_TRUE(files.contains(file)) << "scenarios/messaging/ has no " << file;
  }
}

}  // namespace
