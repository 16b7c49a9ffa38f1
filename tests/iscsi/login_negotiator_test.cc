// Login negotiation (RFC 7143 6, 11.12, 11.13, 13) against the key sets real
// initiators send, every failure status, and continuation in both directions.
#include "iscsi/login_negotiator.h"

#include <gtest/gtest.h>

#include "login_test_util.h"

namespace scsipub::iscsi {
namespace {

using testing::FakeTargets;
using testing::Keys;
using testing::RequestFactory;
using testing::reply_keys;
namespace ls = login_status;

constexpr char kInitiator[] = "iqn.2004-10.com.ubuntu:01:abcdef";
constexpr char kBlank[] = "iqn.2025-01.pub.scsipub:blank";
constexpr char kDisk[] = "iqn.2025-01.pub.scsipub:disk.42";

class LoginTest : public ::testing::Test {
 protected:
  LoginTest() {
    targets_.add({kBlank, "", false});
    targets_.add({kDisk, "disk forty-two", true});
  }
  LoginNegotiator make() { return LoginNegotiator(policy_, targets_); }
  static void expect_failure(const LoginReply& r, uint8_t cls, uint8_t detail) {
    EXPECT_EQ(r.status_class, cls);
    EXPECT_EQ(r.status_detail, detail);
    EXPECT_TRUE(r.close);
    EXPECT_FALSE(r.complete);
    EXPECT_FALSE(r.transit);
  }
  static void expect_ok(const LoginReply& r) {
    EXPECT_EQ(r.status_class, ls::kSuccess);
    EXPECT_EQ(r.status_detail, 0);
    EXPECT_FALSE(r.close);
  }
  Keys security_keys(const char* target = kBlank) {
    return {{"InitiatorName", kInitiator},
            {"InitiatorAlias", "host1"},
            {"SessionType", "Normal"},
            {"TargetName", target},
            {"AuthMethod", "None"}};
  }

  TargetLoginPolicy policy_;
  FakeTargets targets_;
  RequestFactory req_;
};

// ---------------------------------------------------------------- initiators

TEST_F(LoginTest, OpenIscsiLogin) {
  auto n = make();
  auto r1 = n.step(req_.make(0, true, 1, security_keys()));
  expect_ok(r1);
  EXPECT_TRUE(r1.transit);
  EXPECT_EQ(r1.csg, 0);
  EXPECT_EQ(r1.nsg, 1);
  EXPECT_FALSE(r1.complete);
  auto k1 = reply_keys(r1.data);
  EXPECT_EQ(k1["AuthMethod"], "None");
  EXPECT_EQ(k1["TargetPortalGroupTag"], "1");
  EXPECT_EQ(k1.count("TargetAlias"), 0u);
  EXPECT_EQ(k1.count("MaxRecvDataSegmentLength"), 0u);

  auto r2 = n.step(req_.make(1, true, 3,
                             Keys{{"HeaderDigest", "None"},
                                  {"DataDigest", "None"},
                                  {"DefaultTime2Wait", "2"},
                                  {"DefaultTime2Retain", "0"},
                                  {"IFMarker", "No"},
                                  {"OFMarker", "No"},
                                  {"ErrorRecoveryLevel", "0"},
                                  {"InitialR2T", "No"},
                                  {"ImmediateData", "Yes"},
                                  {"MaxBurstLength", "16776192"},
                                  {"FirstBurstLength", "262144"},
                                  {"MaxOutstandingR2T", "1"},
                                  {"MaxConnections", "1"},
                                  {"DataPDUInOrder", "Yes"},
                                  {"DataSequenceInOrder", "Yes"},
                                  {"MaxRecvDataSegmentLength", "262144"}}));
  expect_ok(r2);
  EXPECT_TRUE(r2.transit);
  EXPECT_TRUE(r2.complete);
  EXPECT_EQ(r2.csg, 1);
  EXPECT_EQ(r2.nsg, 3);
  auto k2 = reply_keys(r2.data);
  EXPECT_EQ(k2["HeaderDigest"], "None");
  EXPECT_EQ(k2["DataDigest"], "None");
  EXPECT_EQ(k2["DefaultTime2Wait"], "2");
  EXPECT_EQ(k2["DefaultTime2Retain"], "0");
  EXPECT_EQ(k2["IFMarker"], "No");
  EXPECT_EQ(k2["OFMarker"], "No");
  EXPECT_EQ(k2["ErrorRecoveryLevel"], "0");
  EXPECT_EQ(k2["InitialR2T"], "No");
  EXPECT_EQ(k2["ImmediateData"], "Yes");
  EXPECT_EQ(k2["MaxBurstLength"], "16776192");
  EXPECT_EQ(k2["FirstBurstLength"], "262144");
  EXPECT_EQ(k2["MaxOutstandingR2T"], "1");
  EXPECT_EQ(k2["MaxConnections"], "1");
  EXPECT_EQ(k2["DataPDUInOrder"], "Yes");
  EXPECT_EQ(k2["DataSequenceInOrder"], "Yes");
  EXPECT_EQ(k2["MaxRecvDataSegmentLength"], "262144");  // ours, declared
  EXPECT_EQ(k2.size(), 16u);
  EXPECT_EQ(k2.count("TargetPortalGroupTag"), 0u);  // only in the first response

  EXPECT_EQ(n.session_type(), SessionType::normal);
  EXPECT_EQ(n.initiator_name(), kInitiator);
  EXPECT_EQ(n.initiator_alias(), "host1");
  EXPECT_EQ(n.target_name(), kBlank);
  EXPECT_EQ(n.auth_method(), "None");
  const auto& p = n.params();
  EXPECT_FALSE(p.header_digest);
  EXPECT_FALSE(p.data_digest);
  EXPECT_FALSE(p.initial_r2t);
  EXPECT_TRUE(p.immediate_data);
  EXPECT_EQ(p.max_burst_length, 16776192u);
  EXPECT_EQ(p.first_burst_length, 262144u);
  EXPECT_EQ(p.initiator_max_recv_dsl, 262144u);
  EXPECT_EQ(p.target_max_recv_dsl, 262144u);
  EXPECT_EQ(p.default_time2wait, 2u);
  EXPECT_EQ(p.default_time2retain, 0u);
  EXPECT_EQ(p.max_outstanding_r2t, 1u);
  EXPECT_EQ(p.error_recovery_level, 0);
}

TEST_F(LoginTest, LibiscsiStraightToOperational) {
  auto n = make();
  auto r = n.step(req_.make(1, true, 3,
                            Keys{{"InitiatorName", "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test"},
                                 {"TargetName", kBlank},
                                 {"SessionType", "Normal"},
                                 {"HeaderDigest", "None,CRC32C"},
                                 {"DataDigest", "None"},
                                 {"InitialR2T", "No"},
                                 {"ImmediateData", "Yes"},
                                 {"MaxBurstLength", "262144"},
                                 {"FirstBurstLength", "262144"},
                                 {"MaxRecvDataSegmentLength", "262144"},
                                 {"DataPDUInOrder", "Yes"},
                                 {"DefaultTime2Wait", "2"},
                                 {"DefaultTime2Retain", "0"},
                                 {"IFMarker", "No"},
                                 {"OFMarker", "No"},
                                 {"MaxConnections", "1"},
                                 {"MaxOutstandingR2T", "1"},
                                 {"ErrorRecoveryLevel", "0"},
                                 {"DataSequenceInOrder", "Yes"}}));
  expect_ok(r);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.csg, 1);
  auto k = reply_keys(r.data);
  EXPECT_EQ(k["TargetPortalGroupTag"], "1");
  EXPECT_EQ(k["HeaderDigest"], "None");
  EXPECT_EQ(k["MaxRecvDataSegmentLength"], "262144");
  EXPECT_EQ(k.count("AuthMethod"), 0u);
  EXPECT_EQ(n.params().max_burst_length, 262144u);
}

TEST_F(LoginTest, LibiscsiSecurityTransitWithoutAuthMethod) {
  auto n = make();
  auto r1 = n.step(req_.make(0, true, 1,
                             Keys{{"InitiatorName", kInitiator},
                                  {"TargetName", kBlank},
                                  {"SessionType", "Normal"}}));
  expect_ok(r1);
  EXPECT_TRUE(r1.transit);
  EXPECT_EQ(r1.nsg, 1);
  auto r2 = n.step(req_.make(1, true, 3, Keys{{"HeaderDigest", "CRC32C,None"}, {"DataDigest", "CRC32C"}}));
  expect_ok(r2);
  EXPECT_TRUE(r2.complete);
  auto k = reply_keys(r2.data);
  EXPECT_EQ(k["HeaderDigest"], "CRC32C");
  EXPECT_EQ(k["DataDigest"], "CRC32C");
  EXPECT_TRUE(n.params().header_digest);
  EXPECT_TRUE(n.params().data_digest);
}

TEST_F(LoginTest, IpxeLogin) {
  auto n = make();
  auto r1 = n.step(req_.make(0, true, 1,
                             Keys{{"InitiatorName", "iqn.2010-04.org.ipxe:00000000"},
                                  {"TargetName", kBlank},
                                  {"SessionType", "Normal"},
                                  {"AuthMethod", "None"}}));
  expect_ok(r1);
  ASSERT_TRUE(r1.transit);
  auto r2 = n.step(req_.make(1, true, 3,
                             Keys{{"HeaderDigest", "None"},
                                  {"DataDigest", "None"},
                                  {"MaxConnections", "1"},
                                  {"InitialR2T", "Yes"},
                                  {"ImmediateData", "No"},
                                  {"MaxRecvDataSegmentLength", "8192"},
                                  {"MaxBurstLength", "262144"},
                                  {"FirstBurstLength", "65536"},
                                  {"DefaultTime2Wait", "0"},
                                  {"DefaultTime2Retain", "0"},
                                  {"MaxOutstandingR2T", "1"},
                                  {"DataPDUInOrder", "Yes"},
                                  {"DataSequenceInOrder", "Yes"},
                                  {"ErrorRecoveryLevel", "0"}}));
  expect_ok(r2);
  EXPECT_TRUE(r2.complete);
  auto k = reply_keys(r2.data);
  EXPECT_EQ(k["InitialR2T"], "Yes");
  EXPECT_EQ(k["ImmediateData"], "No");
  EXPECT_EQ(k["DefaultTime2Wait"], "2");  // max(0, ours=2)
  const auto& p = n.params();
  EXPECT_TRUE(p.initial_r2t);
  EXPECT_FALSE(p.immediate_data);
  EXPECT_EQ(p.initiator_max_recv_dsl, 8192u);
  EXPECT_EQ(p.first_burst_length, 65536u);
}

TEST_F(LoginTest, DiscoverySession) {
  auto n = make();
  auto r1 = n.step(req_.make(0, true, 1,
                             Keys{{"InitiatorName", kInitiator},
                                  {"SessionType", "Discovery"},
                                  {"AuthMethod", "None"}}));
  expect_ok(r1);
  auto k1 = reply_keys(r1.data);
  EXPECT_EQ(k1.count("TargetPortalGroupTag"), 0u);
  auto r2 = n.step(req_.make(1, true, 3,
                             Keys{{"HeaderDigest", "None"},
                                  {"DataDigest", "None"},
                                  {"MaxBurstLength", "262144"},
                                  {"InitialR2T", "No"},
                                  {"MaxConnections", "1"},
                                  {"DefaultTime2Wait", "2"},
                                  {"MaxRecvDataSegmentLength", "32768"}}));
  expect_ok(r2);
  EXPECT_TRUE(r2.complete);
  auto k2 = reply_keys(r2.data);
  EXPECT_EQ(k2["MaxBurstLength"], "Irrelevant");
  EXPECT_EQ(k2["InitialR2T"], "Irrelevant");
  EXPECT_EQ(k2["MaxConnections"], "Irrelevant");
  EXPECT_EQ(k2["DefaultTime2Wait"], "2");
  EXPECT_EQ(k2["MaxRecvDataSegmentLength"], "262144");
  EXPECT_EQ(n.session_type(), SessionType::discovery);
  EXPECT_EQ(n.target_name(), "");
  EXPECT_EQ(n.params().initiator_max_recv_dsl, 32768u);
  EXPECT_EQ(n.params().max_burst_length, SessionParams{}.max_burst_length);
}

TEST_F(LoginTest, UnsentKeysKeepDefaults) {
  auto n = make();
  auto r = n.step(req_.make(1, true, 3, Keys{{"InitiatorName", kInitiator}, {"TargetName", kBlank}}));
  expect_ok(r);
  EXPECT_TRUE(r.complete);
  SessionParams defaults;
  defaults.target_max_recv_dsl = policy_.max_recv_dsl;  // we declared ours
  const auto& p = n.params();
  EXPECT_EQ(p.initial_r2t, defaults.initial_r2t);
  EXPECT_EQ(p.immediate_data, defaults.immediate_data);
  EXPECT_EQ(p.max_burst_length, defaults.max_burst_length);
  EXPECT_EQ(p.first_burst_length, defaults.first_burst_length);
  EXPECT_EQ(p.initiator_max_recv_dsl, 8192u);
  EXPECT_EQ(p.target_max_recv_dsl, policy_.max_recv_dsl);
  EXPECT_EQ(p.default_time2retain, 20u);
}

TEST_F(LoginTest, TargetAliasDeclared) {
  targets_.add({"iqn.2025-01.pub.scsipub:image.debian", "Debian 12", false});
  auto n = make();
  auto r = n.step(req_.make(0, true, 1, security_keys("iqn.2025-01.pub.scsipub:image.debian")));
  expect_ok(r);
  EXPECT_EQ(reply_keys(r.data)["TargetAlias"], "Debian 12");
}

TEST_F(LoginTest, SecurityStraightToFullFeatureDeclaresMrdsl) {
  auto n = make();
  auto r = n.step(req_.make(0, true, 3, security_keys()));
  expect_ok(r);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.nsg, 3);
  EXPECT_EQ(reply_keys(r.data)["MaxRecvDataSegmentLength"], "262144");
}

// ---------------------------------------------------------------- key rules

TEST_F(LoginTest, OperationalKeyResults) {
  policy_.allow_digests = false;
  policy_.max_burst_length = 65536;
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  auto r = n.step(req_.make(1, false, 0,
                            Keys{{"HeaderDigest", "CRC32C,None"},
                                 {"DataDigest", "MD5"},
                                 {"FirstBurstLength", "262144"},
                                 {"MaxBurstLength", "1048576"},
                                 {"MaxConnections", "4"},
                                 {"ErrorRecoveryLevel", "2"},
                                 {"DefaultTime2Wait", "10"},
                                 {"MaxOutstandingR2T", "99999"},
                                 {"DataPDUInOrder", "No"},
                                 {"ImmediateData", "maybe"},
                                 {"TargetPortalGroupTag", "1"},
                                 {"TargetAddress", "1.2.3.4"},
                                 {"TargetAlias", "x"},
                                 {"IFMarkInt", "2048~8192"},
                                 {"OFMarkInt", "2048~8192"},
                                 {"TaskReporting", "ResponseFence,RFC3720"},
                                 {"X-com.example.foo", "bar"},
                                 {"X#org.example.ext", "1"},
                                 {"FooBar", "1"}}));
  expect_ok(r);
  EXPECT_FALSE(r.transit);
  auto k = reply_keys(r.data);
  EXPECT_EQ(k["HeaderDigest"], "None");
  EXPECT_EQ(k["DataDigest"], "Reject");
  EXPECT_EQ(k["MaxBurstLength"], "65536");
  EXPECT_EQ(k["FirstBurstLength"], "65536");  // min 262144, then <= MaxBurstLength
  EXPECT_EQ(k["MaxConnections"], "1");
  EXPECT_EQ(k["ErrorRecoveryLevel"], "0");
  EXPECT_EQ(k["DefaultTime2Wait"], "10");
  EXPECT_EQ(k["MaxOutstandingR2T"], "Reject");  // > 65535
  EXPECT_EQ(k["MaxRecvDataSegmentLength"], "262144");  // ours, declared
  EXPECT_EQ(k["DataPDUInOrder"], "Yes");        // OR with ours
  EXPECT_EQ(k["ImmediateData"], "Reject");
  EXPECT_EQ(k["TargetPortalGroupTag"], "Irrelevant");
  EXPECT_EQ(k["TargetAddress"], "Irrelevant");
  EXPECT_EQ(k["TargetAlias"], "Irrelevant");
  EXPECT_EQ(k["IFMarkInt"], "Irrelevant");
  EXPECT_EQ(k["OFMarkInt"], "Irrelevant");
  EXPECT_EQ(k["TaskReporting"], "RFC3720");
  EXPECT_EQ(k["X-com.example.foo"], "NotUnderstood");
  EXPECT_EQ(k["X#org.example.ext"], "NotUnderstood");
  EXPECT_EQ(k["FooBar"], "NotUnderstood");
  const auto& p = n.params();
  EXPECT_EQ(p.max_outstanding_r2t, 1u);  // default kept
  EXPECT_EQ(p.initiator_max_recv_dsl, 8192u);  // not sent: default
  EXPECT_EQ(p.first_burst_length, 65536u);
  EXPECT_TRUE(p.immediate_data);
  // An empty request with T=1 finishes the stage.
  auto done = n.step(req_.make(1, true, 3, Keys{}));
  expect_ok(done);
  EXPECT_TRUE(done.complete);
  EXPECT_TRUE(done.data.empty());  // MRDSL was already declared
}

TEST_F(LoginTest, OutOfRangeMaxRecvDataSegmentLength) {
  auto n = make();
  expect_failure(n.step(req_.make(1, true, 3,
                                  Keys{{"InitiatorName", kInitiator},
                                       {"TargetName", kBlank},
                                       {"MaxRecvDataSegmentLength", "100"}})),
                 ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, NumericHexValuesAccepted) {
  auto n = make();
  auto r = n.step(req_.make(1, true, 3,
                            Keys{{"InitiatorName", kInitiator},
                                 {"TargetName", kBlank},
                                 {"MaxRecvDataSegmentLength", "0x10000"}}));
  expect_ok(r);
  EXPECT_EQ(n.params().initiator_max_recv_dsl, 65536u);
}

// ---------------------------------------------------------------- failures

TEST_F(LoginTest, UnsupportedVersion) {
  auto n = make();
  auto req = req_.make(0, true, 1, security_keys());
  req.version_min = 1;
  req.version_max = 1;
  expect_failure(n.step(req), ls::kInitiatorError, ls::kUnsupportedVersion);
}

TEST_F(LoginTest, MissingInitiatorName) {
  auto n = make();
  expect_failure(n.step(req_.make(0, true, 1, Keys{{"TargetName", kBlank}, {"AuthMethod", "None"}})),
                 ls::kInitiatorError, ls::kMissingParameter);
}

TEST_F(LoginTest, MissingTargetNameInNormalSession) {
  auto n = make();
  expect_failure(n.step(req_.make(0, true, 1, Keys{{"InitiatorName", kInitiator}, {"AuthMethod", "None"}})),
                 ls::kInitiatorError, ls::kMissingParameter);
}

TEST_F(LoginTest, UnknownTarget) {
  auto n = make();
  expect_failure(n.step(req_.make(0, true, 1, security_keys("iqn.2025-01.pub.scsipub:nope"))),
                 ls::kInitiatorError, ls::kNotFound);
}

TEST_F(LoginTest, UnsupportedSessionType) {
  auto n = make();
  expect_failure(n.step(req_.make(0, true, 1, Keys{{"InitiatorName", kInitiator}, {"SessionType", "Bogus"}})),
                 ls::kInitiatorError, ls::kSessionTypeNotSupported);
}

TEST_F(LoginTest, AuthRequiredButOnlyNoneOffered) {
  auto n = make();
  expect_failure(n.step(req_.make(0, true, 1, security_keys(kDisk))), ls::kInitiatorError, ls::kAuthFailure);
}

TEST_F(LoginTest, AuthRequiredChapOfferedButNotImplemented) {
  auto n = make();
  auto keys = security_keys(kDisk);
  keys.back().second = "CHAP,None";
  expect_failure(n.step(req_.make(0, false, 0, keys)), ls::kInitiatorError, ls::kAuthFailure);
}

TEST_F(LoginTest, AuthRequiredCannotSkipSecurityStage) {
  auto n = make();
  expect_failure(n.step(req_.make(1, true, 3, Keys{{"InitiatorName", kInitiator}, {"TargetName", kDisk}})),
                 ls::kInitiatorError, ls::kAuthFailure);
}

TEST_F(LoginTest, AuthRequiredCannotTransitWithoutAuthMethod) {
  auto n = make();
  expect_failure(n.step(req_.make(0, true, 1, Keys{{"InitiatorName", kInitiator}, {"TargetName", kDisk}})),
                 ls::kInitiatorError, ls::kAuthFailure);
}

TEST_F(LoginTest, AnonymousTargetOfferedOnlyChap) {
  auto n = make();
  auto keys = security_keys();
  keys.back().second = "CHAP";
  expect_failure(n.step(req_.make(0, true, 1, keys)), ls::kInitiatorError, ls::kAuthFailure);
}

struct TransitCase {
  uint8_t csg;
  bool transit;
  uint8_t nsg;
  bool cont;
};
class BadTransitTest : public LoginTest, public ::testing::WithParamInterface<TransitCase> {};

TEST_P(BadTransitTest, InitiatorError) {
  auto n = make();
  const auto c = GetParam();
  auto req = req_.make(c.csg, c.transit, c.nsg, testing::encode(security_keys()), c.cont);
  expect_failure(n.step(req), ls::kInitiatorError, ls::kGeneric);
}

INSTANTIATE_TEST_SUITE_P(Transitions, BadTransitTest,
                         ::testing::Values(TransitCase{0, true, 0, false},   // transit to itself
                                           TransitCase{0, true, 2, false},   // reserved stage
                                           TransitCase{1, true, 1, false},
                                           TransitCase{1, true, 0, false},   // backwards
                                           TransitCase{2, false, 0, false},  // reserved CSG
                                           TransitCase{3, false, 0, false},  // CSG = FFP
                                           TransitCase{0, true, 1, true}));  // C and T

TEST_F(LoginTest, CannotGoBackToSecurity) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  expect_failure(n.step(req_.make(0, true, 1, Keys{})), ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, CannotJumpStageWithoutTransit) {
  auto n = make();
  auto r = n.step(req_.make(0, false, 0, security_keys()));
  expect_ok(r);
  EXPECT_FALSE(r.transit);
  expect_failure(n.step(req_.make(1, true, 3, Keys{})), ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, DuplicateKeyInOneRequest) {
  auto n = make();
  auto keys = security_keys();
  keys.push_back({"AuthMethod", "None"});
  expect_failure(n.step(req_.make(0, true, 1, keys)), ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, DuplicateKeyAcrossRequestsOfOneStage) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  expect_ok(n.step(req_.make(1, false, 0, Keys{{"MaxBurstLength", "65536"}})));
  expect_failure(n.step(req_.make(1, true, 3, Keys{{"MaxBurstLength", "65536"}})), ls::kInitiatorError,
                 ls::kGeneric);
}

TEST_F(LoginTest, OperationalKeyInSecurityStage) {
  auto n = make();
  auto keys = security_keys();
  keys.push_back({"MaxBurstLength", "65536"});
  expect_failure(n.step(req_.make(0, true, 1, keys)), ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, DeclarativeKeyAllowedInSecurityStage) {
  auto n = make();
  auto keys = security_keys();
  keys.push_back({"MaxRecvDataSegmentLength", "65536"});
  expect_ok(n.step(req_.make(0, true, 1, keys)));
  EXPECT_EQ(n.params().initiator_max_recv_dsl, 65536u);
}

TEST_F(LoginTest, SecurityKeyInOperationalStage) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  expect_failure(n.step(req_.make(1, true, 3, Keys{{"AuthMethod", "None"}})), ls::kInitiatorError,
                 ls::kGeneric);
}

TEST_F(LoginTest, ChapKeysWithoutMethod) {
  auto n = make();
  auto keys = security_keys();
  keys.push_back({"CHAP_A", "5"});
  expect_failure(n.step(req_.make(0, false, 0, keys)), ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, MalformedText) {
  auto n = make();
  std::string bad("InitiatorName=x\0NoEquals\0", 25);
  expect_failure(n.step(req_.make(0, true, 1, std::vector<uint8_t>(bad.begin(), bad.end()))),
                 ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, ChangedTargetNameLaterIsAnError) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  expect_failure(n.step(req_.make(1, true, 3, Keys{{"TargetName", kDisk}})), ls::kInitiatorError,
                 ls::kGeneric);
}

TEST_F(LoginTest, IsidMustNotChange) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  auto req = req_.make(1, true, 3, Keys{});
  req.isid[5] = 9;
  expect_failure(n.step(req), ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, FailureIsSticky) {
  auto n = make();
  expect_failure(n.step(req_.make(0, true, 1, security_keys("iqn.nope"))), ls::kInitiatorError, ls::kNotFound);
  expect_failure(n.step(req_.make(0, true, 1, security_keys())), ls::kInitiatorError, ls::kNotFound);
}

TEST_F(LoginTest, RequestAfterCompleteIsInvalid) {
  auto n = make();
  ASSERT_TRUE(n.step(req_.make(0, true, 3, security_keys())).complete);
  expect_failure(n.step(req_.make(1, true, 3, Keys{})), ls::kInitiatorError, ls::kInvalidDuringLogin);
}

// ---------------------------------------------------------------- continuation

TEST_F(LoginTest, RequestContinuedOverSeveralPdus) {
  auto n = make();
  auto all = testing::encode(security_keys());
  // Split in the middle of pairs: three pieces.
  const size_t a = 10, b = all.size() / 2 + 3;
  auto r1 = n.step(req_.make(0, false, 0, std::vector<uint8_t>(all.begin(), all.begin() + a), true));
  expect_ok(r1);
  EXPECT_FALSE(r1.transit);
  EXPECT_TRUE(r1.data.empty());
  EXPECT_EQ(r1.csg, 0);
  auto r2 = n.step(req_.make(0, false, 0, std::vector<uint8_t>(all.begin() + a, all.begin() + b), true));
  expect_ok(r2);
  EXPECT_TRUE(r2.data.empty());
  auto r3 = n.step(req_.make(0, true, 1, std::vector<uint8_t>(all.begin() + b, all.end())));
  expect_ok(r3);
  EXPECT_TRUE(r3.transit);
  EXPECT_EQ(reply_keys(r3.data)["AuthMethod"], "None");
}

TEST_F(LoginTest, RequestContinuationIsCapped) {
  auto n = make();
  std::vector<uint8_t> chunk(8192, 'A');
  LoginReply r;
  int i = 0;
  for (; i < 20; ++i) {
    r = n.step(req_.make(0, false, 0, chunk, true));
    if (r.close) break;
  }
  EXPECT_EQ(i, 8);  // 8 * 8192 = 64 KiB fits, the 9th does not
  expect_failure(r, ls::kInitiatorError, ls::kGeneric);
}

TEST_F(LoginTest, LongReplyIsContinued) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  // 1500 unknown keys: the NotUnderstood answers are far longer than 8192.
  Keys keys;
  for (int i = 0; i < 1500; ++i) keys.push_back({"X-com.example.key" + std::to_string(i), "v"});
  auto all = testing::encode(keys);
  ASSERT_GT(all.size(), 3 * kLoginMaxDataSegment);
  // The request goes out in 8192-byte pieces too.
  size_t off = 0;
  LoginReply r;
  while (true) {
    const size_t n_bytes = std::min(kLoginMaxDataSegment, all.size() - off);
    const bool last = off + n_bytes == all.size();
    std::vector<uint8_t> piece(all.begin() + long(off), all.begin() + long(off + n_bytes));
    r = n.step(req_.make(1, last, last ? 3 : 0, piece, !last));
    expect_ok(r);
    off += n_bytes;
    if (last) break;
    EXPECT_TRUE(r.data.empty());
  }
  std::vector<uint8_t> reply;
  int pieces = 0;
  while (true) {
    ++pieces;
    ASSERT_LE(r.data.size(), kLoginMaxDataSegment);
    reply.insert(reply.end(), r.data.begin(), r.data.end());
    if (!r.cont) break;
    EXPECT_FALSE(r.transit);
    EXPECT_FALSE(r.complete);
    r = n.step(req_.make(1, true, 3, Keys{}));  // empty request to collect the rest
    expect_ok(r);
  }
  EXPECT_GE(pieces, 4);
  EXPECT_TRUE(r.transit);
  EXPECT_TRUE(r.complete);
  auto k = reply_keys(reply);
  EXPECT_EQ(k.size(), 1501u);  // + our MaxRecvDataSegmentLength
  EXPECT_EQ(k["X-com.example.key1499"], "NotUnderstood");
}

TEST_F(LoginTest, LongReplyTransitWaitsForInitiatorT) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  Keys keys;
  for (int i = 0; i < 400; ++i) keys.push_back({"X-k" + std::to_string(i), "v"});
  auto r = n.step(req_.make(1, true, 3, keys));
  ASSERT_TRUE(r.cont);
  // Collect with T=0: the last piece must not transit...
  while (r.cont) r = n.step(req_.make(1, false, 0, Keys{}));
  expect_ok(r);
  EXPECT_FALSE(r.transit);
  // ...and a later T=1 request finishes.
  r = n.step(req_.make(1, true, 3, Keys{}));
  expect_ok(r);
  EXPECT_TRUE(r.complete);
}

TEST_F(LoginTest, NonEmptyRequestWhileReplyPending) {
  auto n = make();
  expect_ok(n.step(req_.make(0, true, 1, security_keys())));
  Keys keys;
  for (int i = 0; i < 600; ++i) keys.push_back({"X-k" + std::to_string(i), "v"});
  auto r = n.step(req_.make(1, true, 3, keys));
  ASSERT_TRUE(r.cont);
  expect_failure(n.step(req_.make(1, true, 3, Keys{{"MaxBurstLength", "512"}})), ls::kInitiatorError,
                 ls::kGeneric);
}

// ---------------------------------------------------------------- auth seam

// Stands in for CHAP: wants CHAP_A first, then CHAP_N=alice with CHAP_R=good.
class FakeChap : public Authenticator {
 public:
  bool owns_key(std::string_view key) const override { return key.starts_with("CHAP_"); }
  Outcome step(std::span<const KeyValue> keys, TextWriter& reply) override {
    ++calls;
    for (const auto& kv : keys) {
      if (kv.key == "CHAP_A") {
        reply.add("CHAP_A", "5");
        reply.add("CHAP_I", "1");
        reply.add("CHAP_C", "0x00112233");
        return Outcome::in_progress;
      }
    }
    bool name = false, resp = false;
    for (const auto& kv : keys) {
      if (kv.key == "CHAP_N") name = kv.value == "alice";
      if (kv.key == "CHAP_R") resp = kv.value == "good";
    }
    if (keys.empty()) return Outcome::in_progress;
    return name && resp ? Outcome::success : Outcome::failure;
  }
  int calls = 0;
};

class FakeAuthFactory : public AuthenticatorFactory {
 public:
  std::unique_ptr<Authenticator> create(std::string_view method, const LoginTarget& target,
                                        std::string_view initiator) override {
    last_target = target.name;
    last_initiator = std::string(initiator);
    if (method != "CHAP") return nullptr;
    return std::make_unique<FakeChap>();
  }
  std::string last_target, last_initiator;
};

TEST_F(LoginTest, AuthenticatorSeamSuccess) {
  FakeAuthFactory factory;
  LoginNegotiator n(policy_, targets_, &factory);
  auto keys = security_keys(kDisk);
  keys.back().second = "CHAP,None";
  auto r1 = n.step(req_.make(0, true, 1, keys));
  expect_ok(r1);
  EXPECT_FALSE(r1.transit);  // authentication has not happened yet
  auto k1 = reply_keys(r1.data);
  EXPECT_EQ(k1["AuthMethod"], "CHAP");
  EXPECT_EQ(k1["TargetAlias"], "disk forty-two");
  EXPECT_EQ(factory.last_target, kDisk);
  EXPECT_EQ(factory.last_initiator, kInitiator);

  auto r2 = n.step(req_.make(0, false, 0, Keys{{"CHAP_A", "5"}}));
  expect_ok(r2);
  EXPECT_EQ(reply_keys(r2.data)["CHAP_C"], "0x00112233");

  auto r3 = n.step(req_.make(0, true, 1, Keys{{"CHAP_N", "alice"}, {"CHAP_R", "good"}}));
  expect_ok(r3);
  EXPECT_TRUE(r3.transit);
  EXPECT_EQ(r3.nsg, 1);
  EXPECT_EQ(n.auth_method(), "CHAP");
  auto r4 = n.step(req_.make(1, true, 3, Keys{}));
  expect_ok(r4);
  EXPECT_TRUE(r4.complete);
}

TEST_F(LoginTest, AuthenticatorSeamFailure) {
  FakeAuthFactory factory;
  LoginNegotiator n(policy_, targets_, &factory);
  auto keys = security_keys(kDisk);
  keys.back().second = "CHAP";
  expect_ok(n.step(req_.make(0, false, 0, keys)));
  expect_ok(n.step(req_.make(0, false, 0, Keys{{"CHAP_A", "5"}})));
  expect_failure(n.step(req_.make(0, true, 1, Keys{{"CHAP_N", "alice"}, {"CHAP_R", "bad"}})),
                 ls::kInitiatorError, ls::kAuthFailure);
}

}  // namespace
}  // namespace scsipub::iscsi

namespace scsipub::iscsi {
namespace {

TEST(LoginPdu, DecodeRequestAndEncodeResponse) {
  LoginRequestHeader req_bhs;
  req_bhs.set_transit(true);
  req_bhs.set_csg(1);
  req_bhs.set_nsg(3);
  req_bhs.set_version_max(0);
  req_bhs.set_version_min(0);
  req_bhs.set_isid({0x80, 1, 2, 3, 4, 5});
  req_bhs.set_tsih(0);
  req_bhs.set_itt(0xabcd);
  req_bhs.set_cid(7);
  req_bhs.set_cmd_sn(100);
  req_bhs.set_exp_stat_sn(55);
  std::vector<uint8_t> data{'A', '=', 'B', 0};
  LoginRequest r = decode_login_request(req_bhs, data);
  EXPECT_TRUE(r.transit);
  EXPECT_FALSE(r.cont);
  EXPECT_EQ(r.csg, 1);
  EXPECT_EQ(r.nsg, 3);
  EXPECT_EQ(r.isid[0], 0x80);
  EXPECT_EQ(r.isid[5], 5);
  EXPECT_EQ(r.itt, 0xabcdu);
  EXPECT_EQ(r.cid, 7);
  EXPECT_EQ(r.cmd_sn, 100u);
  EXPECT_EQ(r.exp_stat_sn, 55u);
  EXPECT_EQ(r.data.size(), 4u);

  LoginReply reply;
  reply.transit = true;
  reply.csg = 1;
  reply.nsg = 3;
  reply.data = {'X', '=', 'Y', 0, 'Z', '=', '1', 0};
  LoginResponseHeader out(encode_login_response(
      r, reply, LoginResponseFields{.tsih = 9, .stat_sn = 1, .exp_cmd_sn = 100, .max_cmd_sn = 131}));
  EXPECT_EQ(out.opcode(), Opcode::login_response);
  EXPECT_FALSE(out.immediate());
  EXPECT_TRUE(out.transit());
  EXPECT_FALSE(out.continue_bit());
  EXPECT_EQ(out.csg(), 1);
  EXPECT_EQ(out.nsg(), 3);
  EXPECT_EQ(out.data_segment_length(), 8u);
  EXPECT_EQ(out.isid(), (LoginResponseHeader::Isid{0x80, 1, 2, 3, 4, 5}));
  EXPECT_EQ(out.tsih(), 9);
  EXPECT_EQ(out.itt(), 0xabcdu);
  EXPECT_EQ(out.stat_sn(), 1u);
  EXPECT_EQ(out.exp_cmd_sn(), 100u);
  EXPECT_EQ(out.max_cmd_sn(), 131u);
  EXPECT_EQ(out.status_class(), 0);

  LoginReply failed;
  failed.csg = 0;
  failed.status_class = login_status::kInitiatorError;
  failed.status_detail = login_status::kNotFound;
  failed.close = true;
  out = LoginResponseHeader(encode_login_response(r, failed, {}));
  EXPECT_FALSE(out.transit());
  EXPECT_FALSE(out.continue_bit());
  EXPECT_EQ(out.csg(), 0);
  EXPECT_EQ(out.nsg(), 0);
  EXPECT_EQ(out.status_class(), 2);
  EXPECT_EQ(out.status_detail(), 3);

  LoginReply partial;
  partial.cont = true;
  partial.csg = 1;
  partial.nsg = 3;  // ignored without T
  out = LoginResponseHeader(encode_login_response(r, partial, {}));
  EXPECT_FALSE(out.transit());
  EXPECT_TRUE(out.continue_bit());
  EXPECT_EQ(out.csg(), 1);
  EXPECT_EQ(out.nsg(), 0);
}

}  // namespace
}  // namespace scsipub::iscsi
