// Login redirection (RFC 7143 11.13.5): a target served by another node is
// answered 01/01 with TargetAddress (13.8) at the request that names it; one
// served by nobody at this instant 03/01. Both end the login there.
#include <gtest/gtest.h>

#include "iscsi/login_negotiator.h"
#include "login_test_util.h"

namespace scsipub::iscsi {
namespace {

using testing::FakeTargets;
using testing::Keys;
using testing::RequestFactory;
using testing::reply_keys;
namespace ls = login_status;

constexpr char kInitiator[] = "iqn.2004-10.com.ubuntu:01:abcdef";
constexpr char kHere[] = "iqn.2025-01.pub.scsipub:disk.here";
constexpr char kMoved[] = "iqn.2025-01.pub.scsipub:disk.moved";
constexpr char kMovedV6[] = "iqn.2025-01.pub.scsipub:disk.moved6";
constexpr char kNowhere[] = "iqn.2025-01.pub.scsipub:disk.nowhere";
constexpr char kFreeMoved[] = "iqn.2025-01.pub.scsipub:blank";

LoginTarget target(const char* name, bool auth, LoginTarget::Where where, std::string address = "") {
  LoginTarget t{name, "", auth, auth ? "disk" : "blank"};
  t.where = where;
  t.target_address = std::move(address);
  return t;
}

class LoginRedirectTest : public ::testing::Test {
 protected:
  LoginRedirectTest() {
    targets_.add(target(kHere, true, LoginTarget::Where::here));
    targets_.add(target(kMoved, true, LoginTarget::Where::moved, "192.0.2.7:3260,1"));
    targets_.add(target(kMovedV6, true, LoginTarget::Where::moved, "[2001:db8::7]:3270,3"));
    targets_.add(target(kNowhere, true, LoginTarget::Where::unavailable));
    targets_.add(target(kFreeMoved, false, LoginTarget::Where::moved, "192.0.2.8:3260,1"));
  }
  LoginNegotiator make() { return LoginNegotiator(policy_, targets_); }
  Keys security_keys(const char* name, const char* methods) {
    return {{"InitiatorName", kInitiator}, {"SessionType", "Normal"}, {"TargetName", name}, {"AuthMethod", methods}};
  }
  static void expect_redirect(const LoginReply& r, const std::string& address) {
    EXPECT_EQ(r.status_class, ls::kRedirect);
    EXPECT_EQ(r.status_detail, ls::kMovedTemporarily);
    EXPECT_TRUE(r.close);
    EXPECT_FALSE(r.complete);
    EXPECT_FALSE(r.transit);
    auto keys = reply_keys(r.data);
    ASSERT_EQ(keys.size(), 1u) << "a redirect carries TargetAddress and nothing negotiated";
    EXPECT_EQ(keys["TargetAddress"], address);
  }

  TargetLoginPolicy policy_;
  FakeTargets targets_;
  RequestFactory req_;
};

TEST_F(LoginRedirectTest, FirstRequestWithChapOfferIsRedirected) {
  auto n = make();
  // open-iscsi's first request of a CHAP login: AuthMethod=CHAP,None.
  auto r = n.step(req_.make(0, true, 1, security_keys(kMoved, "CHAP,None")));
  expect_redirect(r, "192.0.2.7:3260,1");
  EXPECT_EQ(n.auth_method(), "") << "no method is negotiated for a login that goes elsewhere";
}

TEST_F(LoginRedirectTest, FirstRequestWithoutSecurityKeysIsRedirected) {
  auto n = make();
  // libiscsi may start in the operational stage (RFC 7143 6.3) for an anonymous target.
  Keys keys = {{"InitiatorName", kInitiator},
               {"SessionType", "Normal"},
               {"TargetName", kFreeMoved},
               {"HeaderDigest", "None"},
               {"MaxRecvDataSegmentLength", "262144"}};
  auto r = n.step(req_.make(1, true, 3, keys));
  expect_redirect(r, "192.0.2.8:3260,1");
  EXPECT_EQ(r.csg, 1);
}

TEST_F(LoginRedirectTest, AddressIsPassedAsGivenWithIpv6Brackets) {
  auto n = make();
  auto r = n.step(req_.make(0, true, 1, security_keys(kMovedV6, "CHAP")));
  expect_redirect(r, "[2001:db8::7]:3270,3");
}

TEST_F(LoginRedirectTest, RedirectIsFinalAndRepeatedForLaterRequests) {
  auto n = make();
  auto first = n.step(req_.make(0, true, 1, security_keys(kMoved, "None")));
  expect_redirect(first, "192.0.2.7:3260,1");
  auto again = n.step(req_.make(0, true, 1, Keys{}));
  expect_redirect(again, "192.0.2.7:3260,1");
  EXPECT_EQ(targets_.lookups, 1);
}

TEST_F(LoginRedirectTest, TargetNamedInAContinuedRequestIsRedirectedWhenComplete) {
  auto n = make();
  auto all = testing::encode(security_keys(kMoved, "CHAP"));
  const auto half = static_cast<std::ptrdiff_t>(all.size() / 2);
  auto part = n.step(req_.make(0, false, 0, std::vector<uint8_t>(all.begin(), all.begin() + half), true));
  EXPECT_EQ(part.status_class, ls::kSuccess);
  EXPECT_FALSE(part.close);
  EXPECT_EQ(targets_.lookups, 0);
  auto rest = n.step(req_.make(0, true, 1, std::vector<uint8_t>(all.begin() + half, all.end())));
  expect_redirect(rest, "192.0.2.7:3260,1");
}

TEST_F(LoginRedirectTest, NobodyServingAnswersServiceUnavailable) {
  auto n = make();
  auto r = n.step(req_.make(0, true, 1, security_keys(kNowhere, "CHAP")));
  EXPECT_EQ(r.status_class, ls::kTargetError);
  EXPECT_EQ(r.status_detail, ls::kServiceUnavailable);
  EXPECT_TRUE(r.close);
  EXPECT_TRUE(r.data.empty()) << "03/01 names no address";
}

TEST_F(LoginRedirectTest, TargetServedHereIsNotRedirected) {
  auto n = make();
  auto r = n.step(req_.make(0, true, 1, security_keys(kHere, "None")));
  // A CHAP target offered only None: the usual authentication refusal, not a redirect.
  EXPECT_EQ(r.status_class, ls::kInitiatorError);
  EXPECT_EQ(r.status_detail, ls::kAuthFailure);
}

TEST_F(LoginRedirectTest, LookupIsToldWhoAsks) {
  auto n = make();
  auto req = req_.make(0, true, 1, security_keys(kMoved, "CHAP"));
  req.isid = {0x80, 1, 2, 3, 4, 5};
  (void)n.step(req);
  EXPECT_EQ(targets_.last_initiator, kInitiator);
  EXPECT_EQ(targets_.last_isid, req.isid);
}

TEST_F(LoginRedirectTest, DiscoveryIsNeverRedirected) {
  auto n = make();
  Keys keys = {{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"AuthMethod", "None"}};
  auto r = n.step(req_.make(0, true, 1, keys));
  EXPECT_EQ(r.status_class, ls::kSuccess);
  EXPECT_EQ(targets_.lookups, 0);
}

}  // namespace
}  // namespace scsipub::iscsi
